"""Helpers for tests that call the API as a user."""

import json

from conftest import PASSWORD

LOGIN_URL = "/_allauth/app/v1/auth/login"
REFRESH_URL = "/_allauth/app/v1/tokens/refresh"
SESSION_URL = "/_allauth/app/v1/auth/session"


def post_json(client, path: str, body=None, **headers):
    return client.post(
        path, data=json.dumps(body if body is not None else {}), content_type="application/json", headers=headers
    )


def obtain_tokens(client, user) -> dict:
    """Sign in through allauth's headless app API: ``{"access_token", "refresh_token"}``."""
    response = post_json(client, LOGIN_URL, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    meta = response.json()["meta"]
    return {"access_token": meta["access_token"], "refresh_token": meta["refresh_token"]}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
