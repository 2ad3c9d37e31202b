"""Fixtures shared by the whole suite."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from executions.documents import Execution

BASE_DIR = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _empty_executions():
    Execution.objects.delete()
    yield


@pytest.fixture
def dispatcher():
    """The in-process dispatcher with the configured (real) runner."""
    from executions import dispatcher as module

    yield module.start(concurrency=2)
    module.stop(grace=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.02, message: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


class LiveServer:
    """A real Daphne process serving the project, sharing this session's embedded MongoDB."""

    def __init__(self, tmp: Path, env: dict | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", **(env or {})}
        self.log = tmp / "daphne.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "LiveServer":
        manage = [sys.executable, str(BASE_DIR / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=self.env, check=True, cwd=BASE_DIR)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                 "integr8scode.asgi:application"],
                env=self.env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
            )
        wait_until(self._ready, timeout=30, message=f"daphne on port {self.port} (log: {self.log})")
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"daphne exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/api/v1/runtimes", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def daphne_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("live")).start()
    yield server
    server.stop()


@pytest.fixture
def http(daphne_server):
    with httpx.Client(base_url=daphne_server.url, timeout=30) as client:
        yield client
