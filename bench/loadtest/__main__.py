"""`make loadtest`: Locust's users against a real server, then every execution they made checked.

Starts a server of its own (as `make run` serves, in a temporary VAR_DIR, with the quotas an
operator would set for a loopback test), or uses the loopback server at ``LOADTEST_URL``
(whose environment, VAR_DIR included, this process must share); creates the test accounts;
runs Locust headless for ``LOADTEST_RUN_TIME`` with ``LOADTEST_USERS`` users; gives the
executions ``LOADTEST_SETTLE_SECONDS`` to finish and audits them in the store. Results are
printed and written to bench/results/loadtest-latest.md and .json; the exit status is 1 when
the run did not pass (an execution lost, stuck or wrong, or a 5xx answer).
"""

import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.cpu import server_cpu
from bench.loadtest.config import LoadTest, load_test_from_env, quota_env
from bench.loadtest.summary import markdown, results
from bench.server import BASE_DIR, BenchServer
from integr8scode.env import ConfigError

RESULTS = BASE_DIR / "bench" / "results"
LOCUSTFILE = BASE_DIR / "bench" / "loadtest" / "locustfile.py"
READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 30  # users finish the task they are in before Locust stops
LOG_LEVEL = re.compile(r'^\S+ \S+ (WARNING|ERROR|CRITICAL) |"level": "(WARNING|ERROR|CRITICAL)"')  # text or JSON


def say(message: str) -> None:
    print(f"loadtest: {message}", file=sys.stderr, flush=True)


@contextmanager
def target(config: LoadTest, work: Path):
    """(url, the server's environment, its BenchServer or None) for the run."""
    if config.url:
        yield config.url, dict(os.environ), None
        return
    server = BenchServer(log=work / "server.log", **quota_env())
    with server:
        yield server.url, server.env, server
    shutil.rmtree(server.var_dir, ignore_errors=True)


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"loadtest: {url}/readyz did not answer 200 within {READY_TIMEOUT_SECONDS} s")


def django_step(module: str, *args: str, env: dict) -> str:
    """Run one of the Django-side steps against the server's databases; its standard output."""
    done = subprocess.run([sys.executable, "-m", module, *args], env=env, cwd=BASE_DIR, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"loadtest: {module} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def locust(config: LoadTest, url: str, work: Path, env: dict) -> dict:
    """Run the users; Locust's report (see bench.loadtest.recorder)."""
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "-u",
        str(config.users),
        "-r",
        str(config.spawn_rate),
        "-t",
        config.run_time,
        "--host",
        url,
        "--stop-timeout",
        str(STOP_TIMEOUT_SECONDS),
        *config.user_classes,
    ]
    with open(work / "locust.log", "wb") as log:
        subprocess.run(command, env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
    report = work / "report.json"
    if not report.exists():
        raise SystemExit(f"loadtest: Locust wrote no report; see {work / 'locust.log'}")
    return json.loads(report.read_text())


def server_figures(server: BenchServer | None, cpu, work: Path) -> dict:
    """CPU seconds the server (its own process, its sandboxes, its store) used while the users
    ran, and its log records of level WARNING and above; nothing for a server not started here."""
    if server is None:
        return {}
    seconds = (round(after - before, 1) for before, after in zip(cpu.before, cpu.after, strict=True))
    levels = (LOG_LEVEL.search(line) for line in (work / "server.log").read_text(errors="replace").splitlines())
    return {
        "cpu_seconds": dict(zip(("web", "sandboxes", "store"), seconds, strict=True)),
        "log_records": dict(Counter(found.group(1) or found.group(2) for found in levels if found)),
    }


def run_facts(config: LoadTest, server: BenchServer | None) -> dict:
    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "users": config.users,
        "spawn_rate": config.spawn_rate,
        "run_time": config.run_time,
        "target": config.url or "its own server",
        "accounts": config.accounts,
        "user_classes": config.user_classes or "all",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "quotas": quota_env() if server else "the server's own",
    }


def run(config: LoadTest, work: Path) -> dict:
    password = secrets.token_urlsafe(18)
    users_env = {
        **os.environ,
        "LOADTEST_LEDGER": str(work / "ledger.jsonl"),
        "LOADTEST_REPORT": str(work / "report.json"),
        "LOADTEST_ACCOUNTS": str(config.accounts),
        "LOADTEST_PASSWORD": password,
    }
    with target(config, work) as (url, server_env, server):
        say(f"server {url}" + (f" (its log: {work / 'server.log'})" if server else ""))
        wait_ready(url)
        django_step("bench.loadtest.accounts", str(config.accounts), env={**server_env, "LOADTEST_PASSWORD": password})
        since = datetime.now(UTC) - timedelta(seconds=1)
        say(f"{config.users} users for {config.run_time} (Locust's log: {work / 'locust.log'})")
        with server_cpu(server.process.pid) if server else nullcontext() as cpu:
            report = locust(config, url, work, users_env)
        say(f"waiting up to {config.settle_seconds:g} s for every execution to finish")
        audit = django_step(
            "bench.loadtest.audit",
            str(work / "ledger.jsonl"),
            since.isoformat(),
            str(config.settle_seconds),
            env=server_env,
        )
    return results(
        run=run_facts(config, server),
        report=report,
        executions=json.loads(audit),
        server=server_figures(server, cpu, work),
    )


def main() -> int:
    try:
        config = load_test_from_env()
    except ConfigError as exc:
        raise SystemExit(f"loadtest: {exc}") from None
    work = Path(tempfile.mkdtemp(prefix="integr8scode-loadtest-"))
    outcome = run(config, work)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "loadtest-latest.json").write_text(json.dumps(outcome, indent=2) + "\n")
    (RESULTS / "loadtest-latest.md").write_text(markdown(outcome))
    print(markdown(outcome))
    say(f"written to {RESULTS}/loadtest-latest.md and .json; the run's files are in {work}")
    return 0 if outcome["verdict"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
