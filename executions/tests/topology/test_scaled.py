"""The scaled topology for real: a web process without a dispatcher, a separate
``manage.py executor`` process, Redis for the channel layer, cache and wake-ups, and
PostgreSQL for the Django database. Output printed in the executor's sandbox reaches a
WebSocket watcher connected to the web process while the script runs."""

import asyncio
import json
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets

from conftest import LiveServer, wait_until

BASE_DIR = Path(__file__).resolve().parents[3]
POSTGRES = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)
SLOW = "import time\nfor i in range(3):\n    print('line', i, flush=True)\n    time.sleep(0.4)\n"


def _reachable(address) -> bool:
    try:
        socket.create_connection(address, timeout=1).close()
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(
    not (_reachable(POSTGRES) and _reachable(REDIS)),
    reason="the scaled-topology test needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379",
)


@pytest.fixture
def postgres_url():
    import psycopg

    name = f"integr8scode_topology_{secrets.token_hex(4)}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def topology(tmp_path, postgres_url):
    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": f"redis://127.0.0.1:6379/{secrets.randbelow(8) + 8}",
        "EXECUTOR_EMBEDDED": "0",
    }
    web = LiveServer(tmp_path, env=env).start()
    log = open(tmp_path / "executor.log", "wb")  # noqa: SIM115 (the executor writes it while it runs)
    executor = subprocess.Popen(
        [sys.executable, "manage.py", "executor", "--concurrency", "2"],
        cwd=BASE_DIR,
        env=web.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_until(
        lambda: b"running" in (tmp_path / "executor.log").read_bytes() or executor.poll() is not None,
        timeout=60,
        message="the executor to start",
    )
    yield web, executor
    executor.terminate()
    executor.wait(timeout=30)
    web.stop()


async def watch(url: str) -> list[dict]:
    messages = []
    async with websockets.connect(url, origin="http://127.0.0.1") as ws:
        async for raw in ws:
            messages.append({**json.loads(raw), "at": time.monotonic()})
    return messages


def test_output_from_a_separate_executor_streams_to_a_watcher_of_the_web_process(topology):
    web, executor = topology
    response = httpx.post(f"{web.url}/api/v1/executions", json={"script": SLOW}, timeout=30)
    assert response.status_code == 201, response.text
    execution_id = response.json()["execution_id"]

    messages = asyncio.run(watch(web.url.replace("http", "ws") + f"/ws/executions/{execution_id}/"))

    outputs = [m for m in messages if m["type"] == "output"]
    final = messages[-1]
    assert final["type"] == "finished" and final["execution"]["status"] == "completed"
    assert final["execution"]["output"] == "line 0\nline 1\nline 2\n"
    assert outputs, "no live output reached the watcher"
    assert final["at"] - outputs[0]["at"] > 0.4  # the first line arrived while the script ran
    assert executor.poll() is None


def test_the_web_process_runs_nothing_itself(topology, tmp_path):
    web, executor = topology
    executor.terminate()
    executor.wait(timeout=30)

    execution_id = httpx.post(f"{web.url}/api/v1/executions", json={"script": "print(1)"}).json()["execution_id"]
    status = httpx.get(f"{web.url}/api/v1/executions/{execution_id}").json()["status"]

    assert status == "queued"
    assert "postgresql" in web.env["DATABASE_URL"] and httpx.get(f"{web.url}/readyz").status_code == 200
