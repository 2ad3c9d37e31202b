"""API authentication: allauth's JWTs, browser sessions with CSRF, and anonymous callers."""

import pytest
from django.test import Client

from accounts import services
from accounts.auth import TOKEN_REJECTED
from accounts.tests.helpers import LOGIN_URL, REFRESH_URL, SESSION_URL, bearer, obtain_tokens, post_json
from executions.schemas import LONE_SURROGATE
from integr8scode.api import MALFORMED_JSON

pytestmark = pytest.mark.django_db(transaction=True)  # the API reads the ORM from worker threads


@pytest.fixture
def client():
    return Client()


def submit(client, **headers):
    return post_json(client, "/api/v1/executions", {"script": "print(1)"}, **headers)


def test_a_jwt_from_allauth_makes_the_execution_the_users(client, owner):
    tokens = obtain_tokens(client, owner)

    response = submit(client, **bearer(tokens["access_token"]))

    assert response.status_code == 201
    assert response.json()["owner_id"] == owner.pk


def test_without_credentials_the_caller_is_anonymous(client):
    response = submit(client)

    assert response.status_code == 201 and response.json()["owner_id"] is None


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Bearer ", "Basic b3duZXI6cHc=", "Token abc"])
def test_a_token_that_does_not_check_out_is_a_401_not_anonymous(client, header):
    response = submit(client, Authorization=header)

    assert response.status_code == 401
    assert response.json() == {"detail": TOKEN_REJECTED}


def test_a_refresh_token_gets_a_new_access_token_that_works(client, owner):
    tokens = obtain_tokens(client, owner)

    refreshed = post_json(client, REFRESH_URL, {"refresh_token": tokens["refresh_token"]})

    assert refreshed.status_code == 200
    new_access = refreshed.json()["data"]["access_token"]
    assert submit(client, **bearer(new_access)).json()["owner_id"] == owner.pk


def test_signing_the_token_out_revokes_it_at_once(client, owner):
    tokens = obtain_tokens(client, owner)

    client.delete(SESSION_URL, headers=bearer(tokens["access_token"]))

    assert submit(client, **bearer(tokens["access_token"])).status_code == 401
    assert post_json(client, REFRESH_URL, {"refresh_token": tokens["refresh_token"]}).status_code != 200


def test_a_ban_revokes_the_users_tokens_at_once(client, owner):
    tokens = obtain_tokens(client, owner)

    services.account_ban(user=owner, reason="spam")

    assert submit(client, **bearer(tokens["access_token"])).status_code == 401
    assert post_json(client, REFRESH_URL, {"refresh_token": tokens["refresh_token"]}).status_code != 200


def test_a_deactivated_users_token_stops_working_even_for_reads(client, owner):
    tokens = obtain_tokens(client, owner)
    execution_id = submit(client, **bearer(tokens["access_token"])).json()["execution_id"]

    services.account_deactivate(user=owner)

    assert client.get(f"/api/v1/executions/{execution_id}", headers=bearer(tokens["access_token"])).status_code == 401


def test_a_signed_in_browser_session_needs_the_csrf_token_to_write(owner):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)

    refused = submit(browser)
    browser.get("/scripts/new/")  # a page with a form sets the CSRF cookie
    accepted = submit(browser, **{"X-CSRFToken": browser.cookies["csrftoken"].value})

    assert refused.status_code == 403
    assert accepted.status_code == 201 and accepted.json()["owner_id"] == owner.pk


def test_a_signed_in_browser_session_reads_without_a_csrf_token(owner):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)

    assert browser.get("/api/v1/executions").status_code == 200


def test_anonymous_visitors_need_no_csrf_token(client):
    anonymous = Client(enforce_csrf_checks=True)

    assert submit(anonymous).status_code == 201


def test_the_openapi_schema_documents_the_bearer_scheme(client):
    schema = client.get("/api/openapi.json").json()

    schemes = schema["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}.items() <= schemes["JWTAuth"].items()


@pytest.mark.parametrize("path", [LOGIN_URL, REFRESH_URL])
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"username": "\\ud800", "password": "x"}', LONE_SURROGATE),
        ('{"refresh_token": "\\udfff"}', LONE_SURROGATE),
        ('{"username": "owner", "password": NaN}', MALFORMED_JSON),
        ("[", MALFORMED_JSON),
    ],
)
def test_the_token_endpoints_refuse_what_json_should_not_hold_with_a_400_in_their_shape(client, path, body, message):
    response = client.post(path, data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"status": 400, "errors": [{"message": message, "code": "invalid"}]}
