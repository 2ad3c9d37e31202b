"""Live numbers for operators without Grafana: the admin's overview page reads them here."""

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from executions.documents import Execution, QueueEntry, Status

WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Overview:
    at: datetime
    queued: int
    running: int
    finished: int
    outcomes: list[tuple[str, int]] = field(default_factory=list)  # "completed", "failed: timeout", ...
    duration_p50_ms: int | None = None
    duration_p95_ms: int | None = None


def executions_overview(*, now: datetime | None = None) -> Overview:
    now = now or timezone.now()
    recent = list(Execution.objects(finished_at__gte=now - WINDOW).only("status", "error_type", "duration_ms"))
    durations = sorted(e.duration_ms for e in recent if e.duration_ms is not None)
    return Overview(
        at=now,
        queued=QueueEntry.objects.count(),
        running=Execution.objects(status=Status.RUNNING).count(),
        finished=len(recent),
        outcomes=Counter(_outcome(e) for e in recent).most_common(),
        duration_p50_ms=round(statistics.median(durations)) if durations else None,
        duration_p95_ms=durations[min(len(durations) - 1, round(0.95 * (len(durations) - 1)))] if durations else None,
    )


def _outcome(execution: Execution) -> str:
    return execution.status if execution.status == Status.COMPLETED else f"{execution.status}: {execution.error_type}"
