"""Liveness and readiness probes.

``/healthz``: the process answers. ``/readyz``: every component a request needs is reachable
(Django's database, MongoDB, the channel layer, the runner); the body names any that fail.

An executor serves no HTTP: ``keep_probe_files`` keeps two files for exec probes instead,
``alive`` (touched while its dispatcher's heartbeat loop turns) and ``ready`` (touched while
the same checks as ``/readyz`` pass, removed when one fails). A probe asks how old a file is.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from mongoengine.connection import get_db

CHECK_TIMEOUT_SECONDS = 3.0
TIMED_OUT = "no answer within {seconds} s"
ALIVE_FILE, READY_FILE = "alive", "ready"
HEARTBEAT_STALE_SECONDS = 30.0  # the dispatcher heartbeats every 0.25 s; a lease lasts 30 s
NOT_READY = "executor not ready: %s"

log = logging.getLogger(__name__)

_pool = ThreadPoolExecutor(4, thread_name_prefix="readyz")


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_mongodb() -> None:
    get_db().client.admin.command("ping")


def check_channel_layer() -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)("readyz.")
    async_to_sync(layer.send)(channel, {"type": "readyz", "token": uuid.uuid4().hex})
    async_to_sync(layer.receive)(channel)


def check_runner() -> None:
    from executions.runners.base import get_runner

    problems = get_runner().check()
    if problems:
        raise RuntimeError("; ".join(problems))


CHECKS = {
    "database": check_database,
    "mongodb": check_mongodb,
    "channel_layer": check_channel_layer,
    "runner": check_runner,
}


def _guarded(check) -> str:
    try:
        check()
        return "ok"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    finally:
        if check is check_database:
            connection.close()  # a pool thread's connection would otherwise linger


def run_checks() -> dict[str, str]:
    """Every check at once, each answered within the shared deadline."""
    futures = {name: _pool.submit(_guarded, check) for name, check in CHECKS.items()}
    deadline = time.monotonic() + CHECK_TIMEOUT_SECONDS
    results = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            results[name] = TIMED_OUT.format(seconds=CHECK_TIMEOUT_SECONDS)
    return results


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    results = run_checks()
    failing = [name for name, outcome in results.items() if outcome != "ok"]
    return JsonResponse(
        {"status": "unavailable" if failing else "ok", "failing": failing, "checks": results},
        status=503 if failing else 200,
    )


# --- probe files, for processes without HTTP (the executor) ------------------------------


def dispatcher_alive(max_age: float = HEARTBEAT_STALE_SECONDS) -> bool:
    """Whether this process's dispatcher completed a heartbeat within ``max_age`` seconds."""
    from executions.metrics import dispatcher_heartbeat

    last = next(sample.value for sample in dispatcher_heartbeat.collect()[0].samples)
    return time.time() - last <= max_age


def update_probe_files(directory: Path, *, alive: Callable[[], bool]) -> dict[str, str]:
    """One round: touch ``alive`` if ``alive()``; touch ``ready`` if every check passes, else
    remove it. Returns the checks' results."""
    directory.mkdir(parents=True, exist_ok=True)
    if alive():
        (directory / ALIVE_FILE).touch()
    results = run_checks()
    failing = {name: outcome for name, outcome in results.items() if outcome != "ok"}
    if failing:
        (directory / READY_FILE).unlink(missing_ok=True)
        log.warning(NOT_READY, ", ".join(f"{name}: {outcome}" for name, outcome in failing.items()))
    else:
        (directory / READY_FILE).touch()
    return results


def keep_probe_files(
    directory: Path, *, interval: float, stop: threading.Event, alive: Callable[[], bool] = dispatcher_alive
) -> threading.Thread:
    """Update the probe files every ``interval`` seconds until ``stop`` is set (then ``ready``
    goes: a stopping executor takes no new work)."""

    def loop() -> None:
        wait = min(1.0, interval)  # the first round soon after the dispatcher's first heartbeat
        while not stop.wait(wait):
            wait = interval
            try:
                update_probe_files(directory, alive=alive)
            except Exception:
                log.exception("updating the probe files failed")
        (directory / READY_FILE).unlink(missing_ok=True)

    thread = threading.Thread(target=loop, name="probe-files", daemon=True)
    thread.start()
    return thread
