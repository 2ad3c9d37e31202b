"""Security headers on every kind of response: pages, the JSON API and errors."""

import pytest

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
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
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
