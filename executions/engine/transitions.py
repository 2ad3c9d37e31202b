"""The state transitions of an execution as the engine makes them: enqueue, claim, lease
renewal, finish, and recovery of executions whose worker died. Every transition is a
conditional update, so any number of dispatchers in any number of processes can share one
queue."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from executions import metrics
from executions.artifacts import artifacts_delete, artifacts_store
from executions.documents import Execution, QueueEntry, Status
from executions.engine import wakeups
from executions.engine.output import Unpersisted
from executions.runners.base import ErrorType, RunResult

log = logging.getLogger(__name__)

CANCELLED_MESSAGE = "Cancelled on request."

WORKER_LOST_MESSAGE = "The worker running this execution stopped responding."
SHUTDOWN_MESSAGE = "The executor shut down before the script finished."
# Queued executions older than this without a queue entry (their submitter died between the
# two inserts, or their claimer between taking the entry and claiming the execution) get
# their entry back from the recovery sweep.
ORPHAN_AGE = timedelta(seconds=10)
CLAIM_ATTEMPTS = 20
_BACK_IN_QUEUE = {
    "set__status": Status.QUEUED,
    "set__worker": None,
    "set__lease_until": None,
    "set__started_at": None,
    "set__output": "",
    "set__errors": None,
    "set__output_seq": 0,
    "set__waiting_for_input": False,
}


def execution_enqueue(*, execution: Execution) -> None:
    QueueEntry.objects(execution_id=execution.execution_id).update_one(
        upsert=True, set__created_at=execution.created_at
    )


def execution_enqueue_queued(*, execution_id: str) -> None:
    """Give a queued execution its queue entry (one offered to a dispatcher that was stopping)."""
    execution = Execution.objects(execution_id=execution_id, status=Status.QUEUED).only("created_at").first()
    if execution is not None:
        execution_enqueue(execution=execution)
        wakeups.notify_queued()


def execution_claim(*, worker: str, runner: str) -> Execution | None:
    """Move the oldest queued execution to running with a lease for ``worker``."""
    for _ in range(CLAIM_ATTEMPTS):
        # Taking the entry is atomic, so concurrent claimers never get the same one.
        entry = QueueEntry._get_collection().find_one_and_delete({}, sort=[("created_at", 1)], projection={"_id": 1})
        if entry is None:
            return None
        # None: the entry was stale (cancelled, deleted, or claimed by a worker that died
        # before removing the entry); the execution's own status decides, so try the next.
        claimed = execution_claim_by_id(entry["_id"], worker=worker, runner=runner)
        if claimed is not None:
            return claimed
    return None


def execution_claim_by_id(execution_id: str, *, worker: str, runner: str) -> Execution | None:
    """Move one queued execution to running for ``worker``; None when it is not queued (any more)."""
    now = timezone.now()
    claimed = Execution.objects(execution_id=execution_id, status=Status.QUEUED).modify(
        new=True,
        set__status=Status.RUNNING,
        set__worker=worker,
        set__runner=runner,
        set__started_at=now,
        set__updated_at=now,
        set__lease_until=now + timedelta(seconds=settings.EXECUTION_LEASE_SECONDS),
        inc__attempts=1,
    )
    if claimed is not None:
        log.info("execution running", extra={"execution_id": execution_id, "worker": worker})
    return claimed


def execution_renew_lease(*, execution_id: str, worker: str, output: Unpersisted | None = None) -> bool:
    """Extend the lease and append new output. Returns True when cancellation was requested
    (or the execution is no longer ours, so the worker must stop)."""
    now = timezone.now()
    update = {"$set": {"lease_until": now + timedelta(seconds=settings.EXECUTION_LEASE_SECONDS), "updated_at": now}}
    appended = _append_output_pipeline(output)
    collection = Execution._get_collection()
    filter_ = {"_id": execution_id, "status": Status.RUNNING, "worker": worker}
    collection.update_one(filter_, [update, {"$set": appended}] if appended else update)
    current = collection.find_one({"_id": execution_id}, {"status": 1, "worker": 1, "cancel_requested": 1})
    still_ours = current and current.get("worker") == worker and current["status"] == Status.RUNNING
    return not still_ours or bool(current.get("cancel_requested"))


def _append_output_pipeline(output: Unpersisted | None) -> dict:
    if output is None or not (output.stdout or output.stderr):
        return {}
    appended = {"output_seq": output.seq}
    for field, text in (("output", output.stdout), ("errors", output.stderr)):
        if text:
            # $literal: a text that starts with "$" would be read as a field's name (and null the output).
            appended[field] = {"$concat": [{"$ifNull": [f"${field}", ""]}, {"$literal": text}]}
    return appended


def execution_finish(
    *, execution_id: str, worker: str, result: RunResult, stdout: str, stderr: str, output_seq: int = 0
) -> Execution | None:
    """Write the final state in one update and return it; None when the execution was no
    longer ours."""
    now = timezone.now()
    succeeded = result.succeeded
    files = artifacts_store(execution_id=execution_id, files=result.files) if result.files else []
    finished = Execution.objects(execution_id=execution_id, status=Status.RUNNING, worker=worker).modify(
        new=True,
        set__status=Status.COMPLETED if succeeded else Status.FAILED,
        set__error_type=None if succeeded else (result.error_type or ErrorType.RUNTIME_ERROR).value,
        set__error_message=result.message,
        set__exit_code=result.exit_code,
        set__exception_type=result.uncaught.type if result.uncaught else None,
        set__exception_message=result.uncaught.message if result.uncaught else None,
        set__exception_line=result.uncaught.line if result.uncaught else None,
        set__signal=result.signal,
        set__output=stdout,
        set__errors=stderr or None,
        set__output_seq=output_seq,
        set__output_truncated=result.output_truncated,
        set__duration_ms=result.duration_ms,
        set__cpu_ms=result.cpu_ms,
        set__compile_ms=result.compile_ms,
        set__peak_memory_kb=result.peak_memory_kb,
        set__flags=result.flags,
        set__files=files,
        set__files_truncated=result.files_truncated,
        set__finished_at=now,
        set__updated_at=now,
        set__lease_until=None,
        set__waiting_for_input=False,
    )
    if finished is None and files:
        artifacts_delete(file_ids=[file.file_id for file in files])  # not ours to finish any more
    if finished is not None:
        log.info(
            "execution finished",
            extra={
                "execution_id": execution_id,
                "status": Status.COMPLETED if succeeded else Status.FAILED,
                "error_type": None if succeeded else (result.error_type or ErrorType.RUNTIME_ERROR).value,
            },
        )
    return finished


def execution_input(*, execution_id: str) -> tuple[str, bool]:
    """What has been typed for an interactive run so far, and whether its input has ended."""
    found = Execution.objects(execution_id=execution_id).only("typed", "input_closed").first()
    return (found.typed or "", found.input_closed) if found is not None else ("", True)


def execution_set_waiting(*, execution_id: str, worker: str, waiting: bool) -> None:
    Execution.objects(execution_id=execution_id, status=Status.RUNNING, worker=worker).update_one(
        set__waiting_for_input=waiting
    )


def execution_release(*, execution_id: str, worker: str) -> bool:
    """Put a claimed execution back in the queue (its sandbox could not start, transiently)."""
    execution = Execution.objects(execution_id=execution_id).only("created_at").first()
    if execution is None:
        return False
    # The entry goes in first: if this process dies in between, the next claimer finds the
    # execution still running and drops the entry, and lease expiry requeues it properly.
    execution_enqueue(execution=execution)
    return bool(
        Execution.objects(execution_id=execution_id, status=Status.RUNNING, worker=worker).update(
            **_BACK_IN_QUEUE, set__updated_at=timezone.now()
        )
    )


def execution_fail(*, execution_id: str, error_type: ErrorType, message: str, worker: str | None = None) -> bool:
    """Fail a running execution without a run result (system errors, shutdown)."""
    now = timezone.now()
    filter_ = {"execution_id": execution_id, "status": Status.RUNNING}
    if worker:
        filter_["worker"] = worker
    failed = Execution.objects(**filter_).update(
        set__status=Status.FAILED,
        set__error_type=error_type.value,
        set__error_message=message,
        set__finished_at=now,
        set__updated_at=now,
        set__lease_until=None,
        set__waiting_for_input=False,
    )
    if failed:
        log.info("execution failed", extra={"execution_id": execution_id, "error_type": error_type.value})
    return bool(failed)


def executions_recover_expired(*, now=None) -> dict[str, int]:
    """Requeue (once) or fail every running execution whose worker stopped renewing its lease,
    and give orphaned queued executions their queue entry back."""
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0}
    expired = Execution.objects(status=Status.RUNNING, lease_until__lt=now).only(
        "execution_id", "attempts", "runtime", "created_at"
    )
    for execution in expired:
        outcome = _recover_one(execution, now)
        if outcome:
            counts[outcome] += 1
    _restore_orphans(now)
    return counts


def _recover_one(execution: Execution, now) -> str | None:
    """None when another recoverer got there first."""
    expired = Execution.objects(execution_id=execution.execution_id, status=Status.RUNNING, lease_until__lt=now)
    if execution.attempts < settings.EXECUTION_MAX_ATTEMPTS:
        execution_enqueue(execution=execution)
        if expired.update(**_BACK_IN_QUEUE, set__updated_at=now):
            log.warning("lease expired; execution requeued", extra={"execution_id": execution.execution_id})
            metrics.lease_expiries.labels("requeued").inc()
            wakeups.notify_queued()
            return "requeued"
        return None
    if expired.update(
        set__status=Status.FAILED,
        set__error_type=ErrorType.SYSTEM_ERROR.value,
        set__error_message=WORKER_LOST_MESSAGE,
        set__finished_at=now,
        set__updated_at=now,
        set__lease_until=None,
    ):
        log.warning("lease expired; execution failed", extra={"execution_id": execution.execution_id})
        metrics.lease_expiries.labels("failed").inc()
        metrics.finished.labels(execution.runtime, "", Status.FAILED, ErrorType.SYSTEM_ERROR.value).inc()
        return "failed"
    return None


def _restore_orphans(now) -> None:
    queued = Execution.objects(status=Status.QUEUED, created_at__lt=now - ORPHAN_AGE).only("execution_id", "created_at")
    entries = set(QueueEntry.objects.scalar("execution_id"))
    for execution in queued:
        if execution.execution_id not in entries:
            execution_enqueue(execution=execution)
            wakeups.notify_queued()
            log.warning("queued execution had no queue entry; restored", extra={"execution_id": execution.execution_id})
