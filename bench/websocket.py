"""Time from submitting a script to its first output byte on a WebSocket, alone and with a crowd.

``ws_first_byte`` is the editor's path: each sample starts before connecting to
``/ws/executions/`` (the handshake counts), sends the script as the first message, and ends
when a message carrying non-empty stdout arrives on that connection. ``post_then_watch``
is an HTTP client's: ``POST /api/v1/executions``, then a watcher connecting to the
execution's own URL right after the response. The crowd figure has 20 watchers connect at
once after the POST. Stdout counts when it is in an ``output`` event, or already in a
snapshot's or final result's stored output.
"""

import asyncio
import json
import time

import httpx
import websockets

from bench.server import BenchServer
from bench.stats import summary_ms

HELLO = "print('hello')"
WARM_UP_RUNS = 5
SINGLE_RUNS = 40
CROWD_RUNS = 10
CROWD_SIZE = 20
FIRST_BYTE_TIMEOUT_SECONDS = 15.0


def carries_stdout(message: dict) -> bool:
    if message["type"] == "output":
        return message["stream"] == "stdout" and bool(message["text"])
    return message["type"] in ("snapshot", "finished") and bool(message["execution"]["output"])


async def seconds_to_first_stdout(ws, started: float) -> float:
    async for raw in ws:
        if carries_stdout(json.loads(raw)):
            return time.perf_counter() - started
    raise RuntimeError(f"{ws.request.path} closed without any stdout")


async def watched(url: str, origin: str, started: float) -> float:
    async with websockets.connect(url, origin=origin) as ws:
        return await seconds_to_first_stdout(ws, started)


async def post_then_watch(client: httpx.AsyncClient, server: BenchServer, watchers: int) -> list[float]:
    """Submit hello over HTTP, connect ``watchers`` WebSockets at once, and time each one's first stdout."""
    started = time.perf_counter()
    response = await client.post("/api/v1/executions", json={"script": HELLO})
    response.raise_for_status()
    url = server.url.replace("http://", "ws://") + f"/ws/executions/{response.json()['execution_id']}/"
    watches = (watched(url, server.url, started) for _ in range(watchers))
    return list(await asyncio.wait_for(asyncio.gather(*watches), FIRST_BYTE_TIMEOUT_SECONDS))


async def submit_over_websocket(client: httpx.AsyncClient, server: BenchServer, watchers: int) -> list[float]:
    started = time.perf_counter()
    async with websockets.connect(server.url.replace("http://", "ws://") + "/ws/executions/", origin=server.url) as ws:
        await ws.send(json.dumps({"type": "submit", "script": HELLO}))
        return [await asyncio.wait_for(seconds_to_first_stdout(ws, started), FIRST_BYTE_TIMEOUT_SECONDS)]


async def sampled(server: BenchServer, one_run, *, runs: int, watchers: int = 1) -> list[float]:
    samples = []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        for _ in range(WARM_UP_RUNS):
            await one_run(client, server, 1)
        for _ in range(runs):
            samples += await one_run(client, server, watchers)
    return samples


def first_byte(server: BenchServer) -> dict:
    single = summary_ms(asyncio.run(sampled(server, submit_over_websocket, runs=SINGLE_RUNS)))
    rest = summary_ms(asyncio.run(sampled(server, post_then_watch, runs=SINGLE_RUNS)))
    crowd = summary_ms(asyncio.run(sampled(server, post_then_watch, runs=CROWD_RUNS, watchers=CROWD_SIZE)))
    return {
        "ws_first_byte": single,
        "post_then_watch_first_byte": rest,
        f"ws_first_byte_{CROWD_SIZE}_watchers": crowd,
        "ws_first_byte_p50_ms": single["p50_ms"],
        "post_then_watch_first_byte_p50_ms": rest["p50_ms"],
        f"ws_first_byte_{CROWD_SIZE}_watchers_p50_ms": crowd["p50_ms"],
    }
