"""Time from submitting a script to its first output byte on a WebSocket, alone and with a crowd.

Each sample starts just before ``POST /api/v1/executions`` and ends when a watcher that
connected right after the response receives a message carrying non-empty stdout: an
``output`` event, or a snapshot or final result whose stored output is already non-empty.
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


async def seconds_to_first_stdout(url: str, origin: str, started: float) -> float:
    async with websockets.connect(url, origin=origin) as ws:
        async for raw in ws:
            if carries_stdout(json.loads(raw)):
                return time.perf_counter() - started
    raise RuntimeError(f"{url} closed without any stdout")


async def one_run(client: httpx.AsyncClient, server: BenchServer, watchers: int) -> list[float]:
    """Submit hello, connect ``watchers`` WebSockets at once, and time each one's first stdout."""
    started = time.perf_counter()
    response = await client.post("/api/v1/executions", json={"script": HELLO})
    response.raise_for_status()
    url = server.url.replace("http://", "ws://") + f"/ws/executions/{response.json()['execution_id']}/"
    watches = (seconds_to_first_stdout(url, server.url, started) for _ in range(watchers))
    return list(await asyncio.wait_for(asyncio.gather(*watches), FIRST_BYTE_TIMEOUT_SECONDS))


async def sampled(server: BenchServer, *, runs: int, watchers: int) -> list[float]:
    samples = []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        for _ in range(WARM_UP_RUNS):
            await one_run(client, server, 1)
        for _ in range(runs):
            samples += await one_run(client, server, watchers)
    return samples


def first_byte(server: BenchServer) -> dict:
    single = summary_ms(asyncio.run(sampled(server, runs=SINGLE_RUNS, watchers=1)))
    crowd = summary_ms(asyncio.run(sampled(server, runs=CROWD_RUNS, watchers=CROWD_SIZE)))
    return {
        "ws_first_byte": single,
        f"ws_first_byte_{CROWD_SIZE}_watchers": crowd,
        "ws_first_byte_p50_ms": single["p50_ms"],
        f"ws_first_byte_{CROWD_SIZE}_watchers_p50_ms": crowd["p50_ms"],
    }
