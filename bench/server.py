"""A real server for the benchmarks: Daphne in embedded mode, with its own data directory."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent
# Quotas stay on (their checks are part of every submission's cost) but out of reach.
HIGH_QUOTAS = {
    "QUOTA_ANON_SUBMISSIONS_PER_MINUTE": "1000000",
    "QUOTA_ANON_CONCURRENT_EXECUTIONS": "100000",
    "QUOTA_ANON_CPU_SECONDS_PER_DAY": "100000000",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BenchServer:
    def __init__(self, log: Path | None = None, **env: str):
        self.var_dir = tempfile.mkdtemp(prefix="integr8scode-bench-")
        self.log = log  # where the server's output goes; nowhere by default
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "VAR_DIR": self.var_dir,
            "STATIC_ROOT": os.path.join(self.var_dir, "static"),
            "LOG_LEVEL": "WARNING",
            **HIGH_QUOTAS,
            **env,
        }
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "BenchServer":
        manage = [sys.executable, str(BASE_DIR / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=self.env, check=True, cwd=BASE_DIR)
        # Its pages name their assets through the manifest this writes (and Readers fetch pages).
        subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], env=self.env, check=True, cwd=BASE_DIR)
        with open(self.log or os.devnull, "wb") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "integr8scode.serve",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "integr8scode.asgi:application",
                ],
                env=self.env,
                cwd=BASE_DIR,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/runtimes", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the benchmark server did not start")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
