"""API clients watch their executions over a WebSocket with the same access token as on the
HTTP API, from a real Daphne server; browsers keep their session and its Origin check."""

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from accounts.tests.live import live_tokens, live_user
from executions.selectors import EXECUTION_ID_RE
from executions.tests.streaming.test_websocket import ws_url


@pytest.fixture(scope="module")
def tokens(daphne_server):
    import httpx

    for name in ("watcher", "stranger"):
        live_user(daphne_server, name)
    with httpx.Client(base_url=daphne_server.url, timeout=30) as client:
        return {
            name: {"Authorization": f"Bearer {live_tokens(client, name)['access_token']}"}
            for name in ("watcher", "stranger")
        }


async def watch(url: str, headers: dict) -> list[dict]:
    async with websockets.connect(url, additional_headers=headers) as ws:  # no Origin, as from a script
        return [json.loads(raw) async for raw in ws]


def test_a_token_holder_watches_their_own_execution_without_an_origin(http, daphne_server, tokens):
    submitted = http.post("/api/v1/executions", json={"script": "print('mine')"}, headers=tokens["watcher"]).json()
    assert submitted["owner_id"] and EXECUTION_ID_RE.match(submitted["execution_id"])

    messages = asyncio.run(watch(ws_url(daphne_server, submitted["execution_id"]), tokens["watcher"]))

    assert messages[-1]["type"] == "finished" and messages[-1]["execution"]["output"] == "mine\n"


def test_another_users_token_is_refused_as_if_the_execution_did_not_exist(http, daphne_server, tokens):
    execution_id = http.post("/api/v1/executions", json={"script": "pass"}, headers=tokens["watcher"]).json()[
        "execution_id"
    ]

    with pytest.raises(InvalidStatus) as refused:
        asyncio.run(watch(ws_url(daphne_server, execution_id), tokens["stranger"]))

    assert refused.value.response.status_code == 403  # as for an unknown id


def test_a_token_that_does_not_check_out_refuses_the_handshake(http, daphne_server):
    execution_id = http.post("/api/v1/executions", json={"script": "pass"}).json()["execution_id"]

    with pytest.raises(InvalidStatus) as refused:
        asyncio.run(watch(ws_url(daphne_server, execution_id), {"Authorization": "Bearer not-a-token"}))

    assert refused.value.response.status_code == 403


def test_without_a_token_a_missing_origin_is_still_refused(http, daphne_server):
    execution_id = http.post("/api/v1/executions", json={"script": "pass"}).json()["execution_id"]

    with pytest.raises(InvalidStatus):
        asyncio.run(watch(ws_url(daphne_server, execution_id), {}))
