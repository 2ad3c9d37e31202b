"""Factories for executions in any state, without running anything."""

from dataclasses import asdict
from datetime import timedelta

from django.utils import timezone

from executions import engine
from executions.documents import Execution, Status
from executions.limits import limit_caps


def make_execution(**fields) -> Execution:
    defaults = {"script": "print('hi')", "runtime": "python3.13", "limits": asdict(limit_caps())}
    execution = Execution(**{**defaults, **fields})
    execution.save(force_insert=True)
    if execution.status == Status.QUEUED:
        engine.execution_enqueue(execution=execution)
    return execution


def make_running(*, worker: str = "crashed-worker:1", lease_in: float = 30, attempts: int = 1, **fields) -> Execution:
    now = timezone.now()
    return make_execution(
        status=Status.RUNNING,
        worker=worker,
        started_at=now,
        attempts=attempts,
        lease_until=now + timedelta(seconds=lease_in),
        **fields,
    )
