"""Submitting over a WebSocket (``/ws/executions/``) and following the run on the same
connection, against a real Daphne server; refusals as the HTTP API would answer them."""

import asyncio
import json
import secrets

import pytest
import websockets
from channels.testing import WebsocketCommunicator
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from accounts.tests.live import live_tokens, live_user
from executions.consumers import MALFORMED_MESSAGE, SUBMIT_FIRST, SubmitConsumer
from executions.services import IDEMPOTENCY_KEY_INVALID
from executions.tests.api.test_over_http import caller_at
from executions.tests.quotas.conftest import quotas as make_quotas
from executions.tests.streaming.test_websocket import SLOW, rendered

ORIGIN = "http://127.0.0.1"


def submit_url(server) -> str:
    return server.url.replace("http://", "ws://") + "/ws/executions/"


async def submit(
    url: str, first, *, origin=ORIGIN, headers=None, cancel_on_output=False, local_addr=None
) -> tuple[list[dict], int]:
    """Send ``first`` (a dict as JSON, or raw text), then collect every message until the close;
    from ``local_addr`` (any of 127.0.0.0/8) to be another anonymous caller."""
    messages = []
    async with websockets.connect(url, origin=origin, additional_headers=headers, local_addr=local_addr) as ws:
        await ws.send(first if isinstance(first, str) else json.dumps(first))
        try:
            async for raw in ws:
                messages.append(json.loads(raw))
                if cancel_on_output and messages[-1]["type"] == "output":
                    await ws.send(json.dumps({"type": "cancel"}))
        except ConnectionClosedError:
            pass  # a refusal's close code: returned below
    return messages, ws.close_code


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def test_a_script_submitted_over_the_websocket_streams_on_the_same_connection(http, daphne_server):
    messages, code = run(submit(submit_url(daphne_server), {"type": "submit", "script": SLOW}))

    snapshot, final = messages[0], messages[-1]
    assert snapshot["type"] == "snapshot" and snapshot["execution"]["status"] in ("queued", "running")
    assert final["type"] == "finished" and final["execution"]["status"] == "completed"
    assert rendered(messages) == "0\n1\n2\n" == final["execution"]["output"]
    assert code == 1000
    # The execution is an ordinary one: stored, with its permanent page and API record.
    stored = http.get(f"/api/v1/executions/{snapshot['execution']['execution_id']}").json()
    assert (stored["status"], stored["output"], stored["owner_id"]) == ("completed", "0\n1\n2\n", None)


def test_stdin_runtime_and_lower_limits_are_taken_like_on_the_http_api(http, daphne_server):
    runtime = http.get("/api/v1/runtimes").json()["runtimes"][0]["name"]
    body = {
        "type": "submit",
        "script": "print(input()[::-1])",
        "stdin": "abc",
        "runtime": runtime,
        "limits": {"wall_seconds": 2},
    }

    messages, _ = run(submit(submit_url(daphne_server), body))

    final = messages[-1]["execution"]
    assert (final["output"], final["runtime"], final["limits"]["wall_seconds"]) == ("cba\n", runtime, 2)


def test_files_go_in_with_a_websocket_submit_and_the_finished_message_lists_what_came_out(http, daphne_server):
    body = {
        "type": "submit",
        "script": "open('out.txt', 'w').write(open('in.txt').read().upper())",
        "files": [{"name": "in.txt", "content": "shout"}],
    }

    messages, _ = run(submit(submit_url(daphne_server), body))

    final = messages[-1]
    assert final["type"] == "finished" and final["execution"]["input_files"] == [{"name": "in.txt", "size": 5}]
    [made] = final["execution"]["files"]
    assert (made["name"], made["size"], made["content_type"]) == ("out.txt", 5, "text/plain")
    assert http.get(made["url"]).content == b"SHOUT"


def test_files_that_break_a_rule_close_the_websocket_like_the_api_answers(daphne_server):
    body = {"type": "submit", "script": "print(1)", "files": [{"name": "../x", "content": "x"}]}

    messages, code = run(submit(submit_url(daphne_server), body))

    assert code == 4422 and messages[-1]["status"] == 422 and "is not a file name" in messages[-1]["detail"]


def test_the_submitter_can_cancel_on_the_same_connection(daphne_server):
    script = "import time\nprint('up', flush=True)\ntime.sleep(30)"

    messages, _ = run(submit(submit_url(daphne_server), {"type": "submit", "script": script}, cancel_on_output=True))

    assert messages[-1]["execution"]["error_type"] == "cancelled"


@pytest.mark.parametrize(
    ("first", "status", "detail"),
    [
        ({"type": "submit", "script": "   "}, 422, "script must not be empty"),
        ({"type": "submit", "script": "x" * (64 * 1024 + 1)}, 413, "script is 65537 bytes; the limit is 65536 bytes"),
        ({"type": "submit", "script": "pass", "runtime": "cobol"}, 422, "runtime 'cobol' is not available here"),
        ({"type": "submit", "script": "pass", "limits": {"wall_seconds": 10_000}}, 422, "wall_seconds"),
        ({"type": "submit", "script": "pass", "idempotency_key": ""}, 422, IDEMPOTENCY_KEY_INVALID),
        ({"type": "submit", "script": "pass", "idempotency_key": 7}, 422, IDEMPOTENCY_KEY_INVALID),
        ({"type": "watch", "script": "pass"}, 422, SUBMIT_FIRST),
        ("{not json", 400, MALFORMED_MESSAGE),
        ("[1, 2]", 400, MALFORMED_MESSAGE),
        ('{"type": "submit", "script": "pass", "limits": {"wall_seconds": NaN}}', 400, MALFORMED_MESSAGE),
        ('{"type": "submit", "script": ' + "[" * 100_000 + "]" * 100_000 + "}", 400, MALFORMED_MESSAGE),
        ('{"type": "submit", "script": "pass", "limits": {"cpu_seconds": -Infinity}}', 400, MALFORMED_MESSAGE),
        ('{"type": "submit", "script": "pass", "limits": {"wall_seconds": 1e400}}', 422, "finite number"),
        ('{"type": "submit", "script": "print(1)\\ud800"}', 422, "lone surrogates"),
        ('{"type": "submit", "script": "pass", "stdin": "\\udfff"}', 422, "lone surrogates"),
        ('{"type": "submit", "script": "pass", "idempotency_key": "\\ud800"}', 422, IDEMPOTENCY_KEY_INVALID),
        ('{"type": "\\ud800", "script": "pass"}', 422, SUBMIT_FIRST),
    ],
)
def test_a_refused_submission_gets_the_http_apis_status_and_reason_and_the_connection_closes(
    daphne_server, first, status, detail
):
    messages, code = run(submit(submit_url(daphne_server), first))

    assert [m["type"] for m in messages] == ["error"]
    assert messages[0]["status"] == status and detail in str(messages[0]["detail"])
    assert code == 4000 + status


def test_a_retry_with_the_same_idempotency_key_follows_the_original_on_either_path(http, daphne_server):
    key = secrets.token_hex(16)
    body = {"type": "submit", "script": "print('once')", "idempotency_key": key}

    first, _ = run(submit(submit_url(daphne_server), body))
    again, _ = run(submit(submit_url(daphne_server), body))
    over_http = http.post("/api/v1/executions", json={"script": "print('once')"}, headers={"Idempotency-Key": key})

    ids = {
        first[0]["execution"]["execution_id"],
        again[0]["execution"]["execution_id"],
        over_http.json()["execution_id"],
    }
    assert len(ids) == 1 and over_http.status_code == 200  # 200: not created again
    assert again[-1]["execution"]["output"] == "once\n"


def test_anonymous_callers_choosing_the_same_idempotency_key_never_meet_over_either_path(daphne_server):
    key = secrets.token_hex(16)
    body = {"type": "submit", "script": "print(input())", "idempotency_key": key}

    mine, _ = run(submit(submit_url(daphne_server), {**body, "stdin": "mine"}, local_addr=("127.0.0.2", 0)))
    theirs, _ = run(submit(submit_url(daphne_server), {**body, "stdin": "theirs"}, local_addr=("127.0.0.3", 0)))
    with caller_at(daphne_server, "127.0.0.4") as third:
        over_http = third.post("/api/v1/executions", json={"script": "pass"}, headers={"Idempotency-Key": key})

    ids = [
        mine[-1]["execution"]["execution_id"],
        theirs[-1]["execution"]["execution_id"],
        over_http.json()["execution_id"],
    ]
    assert len(set(ids)) == 3 and over_http.status_code == 201
    assert theirs[-1]["execution"]["output"] == "theirs\n" and "mine" not in str(theirs)


def test_a_field_of_the_wrong_type_names_the_field(daphne_server):
    messages, code = run(submit(submit_url(daphne_server), {"type": "submit", "script": 42, "colour": "red"}))

    detail = messages[0]["detail"]
    assert code == 4422 and {tuple(error["loc"]) for error in detail} == {("script",), ("colour",)}
    assert all(set(error) == {"type", "loc", "msg"} for error in detail)  # the input is not echoed


def test_a_foreign_origin_cannot_submit_with_a_visitors_session(daphne_server):
    with pytest.raises(InvalidStatus):
        run(submit(submit_url(daphne_server), {"type": "submit", "script": "print(1)"}, origin="http://evil.example"))


def test_a_token_holder_submits_without_an_origin_and_owns_the_execution(http, daphne_server):
    import httpx

    live_user(daphne_server, "submitter")
    with httpx.Client(base_url=daphne_server.url, timeout=30) as client:
        headers = {"Authorization": f"Bearer {live_tokens(client, 'submitter')['access_token']}"}

    messages, _ = run(
        submit(submit_url(daphne_server), {"type": "submit", "script": "print('mine')"}, origin=None, headers=headers)
    )

    final = messages[-1]["execution"]
    assert final["owner_id"] is not None and final["output"] == "mine\n"
    assert http.get(f"/api/v1/executions/{final['execution_id']}").status_code == 404  # not anonymous's
    assert http.get(f"/api/v1/executions/{final['execution_id']}", headers=headers).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_quotas_apply_to_websocket_submissions_as_to_the_http_api(settings):
    settings.QUOTAS = make_quotas(anonymous=(1, 0, 0))

    async def one() -> list[dict]:
        communicator = WebsocketCommunicator(SubmitConsumer.as_asgi(), "/ws/executions/")
        communicator.scope["client"] = ("198.51.100.4", 50000)
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"type": "submit", "script": "print(1)"})
        first = await communicator.receive_json_from(timeout=10)
        await communicator.disconnect()
        return first

    accepted, refused = asyncio.run(one()), asyncio.run(one())

    assert accepted["type"] == "snapshot"
    assert (refused["type"], refused["status"]) == ("error", 429)
    assert refused["detail"].startswith("Too many submissions") and refused["retry_after"] >= 1


def test_a_watcher_sending_something_that_is_not_a_json_object_is_told_so_and_closed(http, daphne_server):
    script = "import time\nprint('up', flush=True)\ntime.sleep(30)"
    execution_id = http.post("/api/v1/executions", json={"script": script}).json()["execution_id"]
    url = submit_url(daphne_server) + f"{execution_id}/"

    async def send_garbage():
        async with websockets.connect(url, origin=ORIGIN) as ws:
            assert json.loads(await ws.recv())["type"] == "snapshot"
            await ws.send("{not json")
            try:
                async for raw in ws:
                    if json.loads(raw)["type"] == "error":
                        error = json.loads(raw)
            except ConnectionClosedError:
                pass
        return error, ws.close_code

    try:
        error, code = run(send_garbage())
    finally:
        http.post(f"/api/v1/executions/{execution_id}/cancel")
    assert (error["status"], error["detail"], code) == (400, MALFORMED_MESSAGE, 4400)


def test_a_signed_in_users_submission_with_files_at_their_caps_goes_through_the_websocket(daphne_server):
    import base64

    import httpx

    live_user(daphne_server, "filer")
    with httpx.Client(base_url=daphne_server.url, timeout=30) as client:
        headers = {"Authorization": f"Bearer {live_tokens(client, 'filer')['access_token']}"}
    content = base64.b64encode(b"\x00" * ((1 << 20) - 64)).decode()  # about 1.33 MiB as base64
    body = {
        "type": "submit",
        "script": "import os; print(os.path.getsize('blob.bin'))",
        "files": [{"name": "blob.bin", "content": content, "encoding": "base64"}],
        "limits": {"disk_mb": 4},
    }

    messages, code = run(submit(submit_url(daphne_server), body, origin=None, headers=headers))

    assert code == 1000, messages[-1:]
    assert messages[-1]["execution"]["output"] == f"{(1 << 20) - 64}\n"
