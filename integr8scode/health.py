"""Liveness and readiness probes.

``/healthz``: the process answers. ``/readyz``: every component a request needs is reachable
(Django's database, MongoDB, the channel layer, the runner); the body names any that fail.
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from mongoengine.connection import get_db

CHECK_TIMEOUT_SECONDS = 3.0
TIMED_OUT = "no answer within {seconds} s"

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
