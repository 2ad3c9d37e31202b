"""Live output over real WebSockets from a real Daphne server."""

import asyncio
import json
import time

import pytest
import websockets

SLOW = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.5)\n"


def ws_url(server, execution_id: str) -> str:
    return server.url.replace("http://", "ws://") + f"/ws/executions/{execution_id}/"


async def collect(url: str, *, stop_after_outputs: int | None = None, origin="http://127.0.0.1") -> list[dict]:
    messages = []
    async with websockets.connect(url, origin=origin) as ws:
        async for raw in ws:
            message = json.loads(raw)
            message["received_at"] = time.monotonic()
            messages.append(message)
            outputs = [m for m in messages if m["type"] == "output"]
            if stop_after_outputs is not None and len(outputs) >= stop_after_outputs:
                break
    return messages


def rendered(messages: list[dict]) -> str:
    """What a client shows: the latest snapshot's stdout, then the output chunks after it."""
    text = ""
    for message in messages:
        if message["type"] in ("snapshot", "finished"):
            text = message["execution"]["output"] if message["type"] == "snapshot" else text
        elif message["type"] == "output" and message["stream"] == "stdout":
            text += message["text"]
    return text


def test_each_line_arrives_while_the_script_runs(http, daphne_server):
    execution_id = http.post("/api/v1/executions", json={"script": SLOW}).json()["execution_id"]

    messages = asyncio.run(collect(ws_url(daphne_server, execution_id)))

    kinds = [m["type"] for m in messages]
    assert kinds[0] == "snapshot" and kinds[-1] == "finished"
    outputs = [m for m in messages if m["type"] == "output"]
    finished = messages[-1]
    assert finished["execution"]["status"] == "completed" and finished["execution"]["exit_code"] == 0
    assert rendered(messages) == "0\n1\n2\n" == finished["execution"]["output"]
    # The first line was on the wire well before the script ended.
    assert outputs and finished["received_at"] - outputs[0]["received_at"] > 0.5
    assert [m["seq"] for m in outputs] == sorted({m["seq"] for m in outputs})


def test_stderr_is_distinguished_and_the_final_result_carries_the_facts(http, daphne_server):
    script = "import sys\nprint('out', flush=True)\nprint('err', file=sys.stderr, flush=True)\nsys.exit(3)"
    execution_id = http.post("/api/v1/executions", json={"script": script}).json()["execution_id"]

    messages = asyncio.run(collect(ws_url(daphne_server, execution_id)))

    final = messages[-1]["execution"]
    assert (final["status"], final["error_type"], final["exit_code"]) == ("failed", "runtime_error", 3)
    assert final["output"] == "out\n" and final["errors"] == "err\n"
    assert {"duration_ms", "cpu_ms", "peak_memory_kb", "output_truncated"} <= set(final)


def test_a_watcher_reconnecting_mid_run_gets_no_gaps_and_no_duplicates(http, daphne_server):
    script = "import time\nfor i in range(20):\n    print(i, flush=True)\n    time.sleep(0.1)\n"
    execution_id = http.post("/api/v1/executions", json={"script": script}).json()["execution_id"]
    url = ws_url(daphne_server, execution_id)

    first = asyncio.run(collect(url, stop_after_outputs=3))
    second = asyncio.run(collect(url))

    expected = "".join(f"{i}\n" for i in range(20))
    assert second[-1]["execution"]["output"] == expected
    assert rendered(second) == expected
    seqs = [m["seq"] for m in second if m["type"] == "output"]
    assert len(seqs) == len(set(seqs)) and all(s > second[0]["seq"] for s in seqs)
    assert rendered(first).startswith("0\n1\n2\n")


def test_a_finished_execution_replays_from_storage_and_closes(http, daphne_server):
    body = http.post("/api/v1/executions?wait=true", json={"script": "print('done')"}).json()

    messages = asyncio.run(collect(ws_url(daphne_server, body["execution_id"])))

    assert [m["type"] for m in messages] == ["snapshot", "finished"]
    assert messages[0]["execution"]["output"] == "done\n"


def test_twenty_watchers_all_see_the_whole_output(http, daphne_server):
    execution_id = http.post("/api/v1/executions", json={"script": SLOW}).json()["execution_id"]
    url = ws_url(daphne_server, execution_id)

    async def watch_all():
        return await asyncio.gather(*(collect(url) for _ in range(20)))

    for messages in asyncio.run(watch_all()):
        assert rendered(messages) == "0\n1\n2\n"


def test_a_watcher_can_cancel_the_execution(http, daphne_server):
    execution_id = http.post(
        "/api/v1/executions", json={"script": "import time\nprint('up', flush=True)\ntime.sleep(30)"}
    ).json()["execution_id"]

    async def cancel_after_first_output():
        async with websockets.connect(ws_url(daphne_server, execution_id), origin="http://127.0.0.1") as ws:
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "output" or (message["type"] == "snapshot" and message["execution"]["output"]):
                    await ws.send(json.dumps({"type": "cancel"}))
                if message["type"] == "finished":
                    return message

    final = asyncio.run(asyncio.wait_for(cancel_after_first_output(), 30))

    assert final["execution"]["error_type"] == "cancelled"


@pytest.mark.parametrize("execution_id", ["0" * 32, "nope"])
def test_an_unknown_execution_is_refused(daphne_server, execution_id):
    async def connect():
        async with websockets.connect(ws_url(daphne_server, execution_id), origin="http://127.0.0.1") as ws:
            await ws.recv()

    with pytest.raises(websockets.exceptions.InvalidStatus):
        asyncio.run(connect())


def test_a_foreign_origin_is_refused(http, daphne_server):
    execution_id = http.post("/execute", json={"script": "print(1)"}).json()["execution_id"]

    with pytest.raises(websockets.exceptions.InvalidStatus):
        asyncio.run(collect(ws_url(daphne_server, execution_id), origin="http://evil.example"))
