import shutil
import socket
import subprocess

import pytest

from conftest import _free_port, wait_until


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url():
    """The machine's Redis on 127.0.0.1:6379, else a private redis-server for this session."""
    if _reachable("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/15"
        return
    if not shutil.which("redis-server"):
        pytest.skip("Redis is not running on 127.0.0.1:6379 and redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _reachable("127.0.0.1", port), timeout=10, message="redis-server to listen")
        yield f"redis://127.0.0.1:{port}/15"
    finally:
        process.terminate()
        process.wait(timeout=10)


def quotas(*, anonymous=(0, 0, 0), user=(0, 0, 0)) -> dict:
    """QUOTAS from (submissions per minute, concurrent executions, CPU-seconds per day)."""
    names = ("submissions_per_minute", "concurrent_executions", "cpu_seconds_per_day")
    return {"anonymous": dict(zip(names, anonymous, strict=True)), "user": dict(zip(names, user, strict=True))}
