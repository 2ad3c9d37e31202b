"""Security headers on every kind of response: pages, the JSON API and errors."""

import base64
import hashlib
import re

import pytest

POLICY = {
    "default-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _policy(response) -> dict[str, str]:
    directives = (part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    return {name: value for name, value in directives}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/api/v1/runtimes", "/executions/not-an-id/", "/accounts/login/"])
def test_every_response_carries_the_policy_and_the_other_security_headers(client, path):
    response = client.get(path)

    assert _policy(response).items() >= POLICY.items()
    assert _policy(response)["script-src"].split()[0] == "'self'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_the_one_inline_script_is_allowed_by_its_hash_and_no_other_is(client):
    response = client.get("/")

    inline = re.findall(r"<script>(.*?)</script>", response.content.decode(), re.DOTALL)
    assert len(inline) == 1  # the theme, set before the first paint
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert _policy(response)["script-src"].split() == ["'self'", f"'sha256-{digest}'"]
