"""Interactive runs against a real Daphne server: typing over HTTP and over either WebSocket,
the waiting-for-input status, and the refusals (404, 409, 413, 422) with what they say."""

import asyncio
import json

import websockets

from conftest import wait_until
from executions.tests.streaming.test_websocket import ws_url
from executions.tests.streaming.test_websocket_submit import ORIGIN, submit_url

ASK = 'name = input("Your name? ")\nprint(f"Hello, {name}!")\n'


def detail(http, execution_id: str) -> dict:
    return http.get(f"/api/v1/executions/{execution_id}").json()


def test_typing_over_http(http):
    created = http.post("/api/v1/executions", json={"script": ASK, "interactive": True})
    execution_id = created.json()["execution_id"]
    assert created.status_code == 201 and created.json()["interactive"] is True

    wait_until(lambda: detail(http, execution_id)["waiting_for_input"], timeout=20, message="a prompt")
    assert detail(http, execution_id)["output"] == "Your name? "
    fed = http.post(f"/api/v1/executions/{execution_id}/stdin", json={"text": "Ada\n"})
    done = wait_until(
        lambda: (found := detail(http, execution_id))["status"] == "completed" and found, timeout=20, message="the end"
    )
    late = http.post(f"/api/v1/executions/{execution_id}/stdin", json={"text": "more\n"})

    assert fed.status_code == 200 and fed.json()["typed"] == "Ada\n"
    assert done["output"] == "Your name? Hello, Ada!\n" and done["typed"] == "Ada\n"
    assert done["waiting_for_input"] is False
    assert late.status_code == 409 and "has already finished" in late.json()["detail"]


def test_what_cannot_be_fed_is_refused_clearly(http):
    batch = http.post("/api/v1/executions", json={"script": "print(1)"}).json()["execution_id"]
    session = http.post("/api/v1/executions", json={"script": ASK, "interactive": True}).json()["execution_id"]

    not_interactive = http.post(f"/api/v1/executions/{batch}/stdin", json={"text": "x"})
    empty = http.post(f"/api/v1/executions/{session}/stdin", json={})
    wrong_type = http.post(f"/api/v1/executions/{session}/stdin", json={"text": 5})
    unknown = http.post("/api/v1/executions/0123456789abcdef0123456789abcdef/stdin", json={"text": "x"})
    too_much = http.post(f"/api/v1/executions/{session}/stdin", json={"text": "x" * (64 * 1024 + 1)})
    ended = http.post(f"/api/v1/executions/{session}/stdin", json={"eof": True})
    after_end = http.post(f"/api/v1/executions/{session}/stdin", json={"text": "x"})

    assert not_interactive.status_code == 409 and "not interactive" in not_interactive.json()["detail"]
    assert empty.status_code == 422 and "send some text, or eof" in json.dumps(empty.json())
    assert wrong_type.status_code == 422
    assert unknown.status_code == 404
    assert too_much.status_code == 413 and "the limit is 65536 bytes" in too_much.json()["detail"]
    assert ended.status_code == 200 and ended.json()["input_closed"] is True
    assert after_end.status_code == 409 and "has ended" in after_end.json()["detail"]
    wait_until(lambda: detail(http, session)["status"] == "failed", timeout=20, message="EOFError at its prompt")


async def converse(url: str, first: dict | None, answers: list[str]) -> list[dict]:
    """Answer each wait for input with the next of ``answers`` (then a typed line too many, which
    is refused), and collect every message until the close."""
    messages = []
    async with websockets.connect(url, origin=ORIGIN) as ws:
        if first is not None:
            await ws.send(json.dumps(first))
        async for raw in ws:
            message = json.loads(raw)
            messages.append(message)
            if message["type"] == "status" and message.get("waiting_for_input"):
                text = answers.pop(0) if answers else None
                await ws.send(
                    json.dumps({"type": "stdin", "eof": True} if text is None else {"type": "stdin", "text": text})
                )
                if text is None:
                    await ws.send(json.dumps({"type": "stdin", "text": "too late"}))
    return messages


def test_typing_over_the_submitting_websocket(daphne_server):
    script = 'a = input("a? ")\nb = input("b? ")\nprint(int(a) + int(b))\ninput("more? ")\n'
    messages = asyncio.run(
        converse(submit_url(daphne_server), {"type": "submit", "script": script, "interactive": True}, ["2\n", "3\n"])
    )

    finished = messages[-1]
    assert finished["type"] == "finished"
    assert finished["execution"]["output"] == "a? b? 5\nmore? "
    assert finished["execution"]["typed"] == "2\n3\n" and finished["execution"]["input_closed"] is True
    assert finished["execution"]["exception_type"] == "EOFError"  # end of file at the last prompt
    waits = [m["waiting_for_input"] for m in messages if m["type"] == "status" and "waiting_for_input" in m]
    assert waits.count(True) == 3 and False in waits
    refused = [m for m in messages if m["type"] == "error"]
    assert all(m["status"] == 409 for m in refused)  # the line after end of file; the socket stayed open


def test_typing_over_the_watching_websocket(http, daphne_server):
    execution_id = http.post("/api/v1/executions", json={"script": ASK, "interactive": True}).json()["execution_id"]
    messages = asyncio.run(converse(ws_url(daphne_server, execution_id), None, ["Grace\n"]))

    assert messages[-1]["type"] == "finished"
    assert messages[-1]["execution"]["output"] == "Your name? Hello, Grace!\n"
