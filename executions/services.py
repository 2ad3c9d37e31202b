"""Writes to executions. Views, API operations, consumers, the admin and the dispatcher all
change executions through these functions and nothing else."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from pymongo.errors import DuplicateKeyError

from executions import wakeups
from executions.documents import Execution, Status
from executions.limits import Limits, limit_caps, limits_resolve
from executions.output import Unpersisted
from executions.runners.base import ErrorType, RunResult, get_runner

log = logging.getLogger(__name__)

SCRIPT_TOO_LARGE = "script is {size} bytes; the limit is {limit} bytes"
STDIN_TOO_LARGE = "stdin is {size} bytes; the limit is {limit} bytes"
SCRIPT_EMPTY = "script must not be empty"
UNKNOWN_RUNTIME = "runtime {runtime!r} is not available here (available: {available})"
ALREADY_FINISHED = "execution {execution_id} has already finished ({status})"
CANCELLED_MESSAGE = "Cancelled on request."
WORKER_LOST_MESSAGE = "The worker running this execution stopped responding."
SHUTDOWN_MESSAGE = "The executor shut down before the script finished."


class SubmissionRejected(ValueError):
    """The submission cannot be accepted; ``status`` is the HTTP status it maps to."""

    def __init__(self, message: str, *, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


class AlreadyFinished(Exception):
    pass


def runtime_resolve(*, runtime: str | None) -> str:
    available = list(get_runner().runtimes())
    chosen = runtime or settings.DEFAULT_RUNTIME or available[0]
    if chosen not in available:
        raise SubmissionRejected(UNKNOWN_RUNTIME.format(runtime=chosen, available=", ".join(available)))
    return chosen


def _check_sizes(*, script: str, stdin: str) -> None:
    if not script.strip():
        raise SubmissionRejected(SCRIPT_EMPTY)
    script_size = len(script.encode("utf-8", "surrogatepass"))
    if script_size > settings.SCRIPT_MAX_BYTES:
        raise SubmissionRejected(SCRIPT_TOO_LARGE.format(size=script_size, limit=settings.SCRIPT_MAX_BYTES), status=413)
    stdin_size = len(stdin.encode("utf-8", "surrogatepass"))
    if stdin_size > settings.STDIN_MAX_BYTES:
        raise SubmissionRejected(STDIN_TOO_LARGE.format(size=stdin_size, limit=settings.STDIN_MAX_BYTES), status=413)


def execution_submit(
    *,
    script: str,
    stdin: str = "",
    runtime: str | None = None,
    limits: dict | None = None,
    caps: Limits | None = None,
    owner_id: int | None = None,
    script_id: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[Execution, bool]:
    """Queue a script. Returns the execution and whether it was created (False: an
    earlier submission with the same idempotency key)."""
    _check_sizes(script=script, stdin=stdin)
    if idempotency_key:
        existing = Execution.objects(owner_id=owner_id, idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
    try:
        resolved = limits_resolve(requested=limits, caps=caps or limit_caps())
    except ValueError as exc:
        raise SubmissionRejected(str(exc)) from None
    execution = Execution(
        script=script,
        stdin=stdin,
        runtime=runtime_resolve(runtime=runtime),
        limits=asdict(resolved),
        owner_id=owner_id,
        script_id=script_id,
        idempotency_key=idempotency_key or None,
    )
    try:
        execution.save(force_insert=True)
    except DuplicateKeyError:
        return Execution.objects.get(owner_id=owner_id, idempotency_key=idempotency_key), False
    log.info("execution queued", extra={"execution_id": execution.execution_id})
    wakeups.notify_queued()
    return execution, True


def execution_cancel(*, execution: Execution) -> Execution:
    """Cancel a queued execution at once; ask the worker of a running one to stop it."""
    now = timezone.now()
    if Execution.objects(execution_id=execution.execution_id, status=Status.QUEUED).update(
        set__status=Status.FAILED,
        set__error_type=ErrorType.CANCELLED.value,
        set__error_message=CANCELLED_MESSAGE,
        set__finished_at=now,
        set__updated_at=now,
    ):
        log.info("execution cancelled while queued", extra={"execution_id": execution.execution_id})
    elif Execution.objects(execution_id=execution.execution_id, status=Status.RUNNING).update(
        set__cancel_requested=True, set__updated_at=now
    ):
        from executions import dispatcher

        dispatcher.request_stop(execution.execution_id)
    else:
        execution.reload()
        raise AlreadyFinished(ALREADY_FINISHED.format(execution_id=execution.execution_id, status=execution.status))
    execution.reload()
    return execution


# --- used by the dispatcher --------------------------------------------------------------


def execution_claim(*, worker: str, runner: str) -> Execution | None:
    """Atomically move the oldest queued execution to running with a lease for ``worker``."""
    now = timezone.now()
    return (
        Execution.objects(status=Status.QUEUED)
        .order_by("created_at")
        .modify(
            new=True,
            set__status=Status.RUNNING,
            set__worker=worker,
            set__runner=runner,
            set__started_at=now,
            set__updated_at=now,
            set__lease_until=now + timedelta(seconds=settings.EXECUTION_LEASE_SECONDS),
            inc__attempts=1,
        )
    )


def execution_renew_lease(*, execution_id: str, worker: str, output: Unpersisted | None = None) -> bool:
    """Extend the lease and append new output. Returns True when cancellation was requested
    (or the execution is no longer ours, so the worker must stop)."""
    now = timezone.now()
    update = {"$set": {"lease_until": now + timedelta(seconds=settings.EXECUTION_LEASE_SECONDS), "updated_at": now}}
    appended = _append_output_pipeline(output)
    collection = Execution._get_collection()
    filter_ = {"_id": execution_id, "status": Status.RUNNING, "worker": worker}
    if appended:
        collection.update_one(filter_, [update, {"$set": appended}])
    else:
        collection.update_one(filter_, update)
    current = collection.find_one({"_id": execution_id}, {"status": 1, "worker": 1, "cancel_requested": 1})
    return not current or current.get("worker") != worker or current["status"] != Status.RUNNING or bool(
        current.get("cancel_requested")
    )


def _append_output_pipeline(output: Unpersisted | None) -> dict:
    if output is None or not (output.stdout or output.stderr):
        return {}
    appended = {"output_seq": output.seq}
    for field, text in (("output", output.stdout), ("errors", output.stderr)):
        if text:
            appended[field] = {"$concat": [{"$ifNull": [f"${field}", ""]}, text]}
    return appended


def execution_finish(
    *, execution_id: str, worker: str, result: RunResult, stdout: str, stderr: str, output_seq: int = 0
) -> bool:
    """Write the final state in one update. False when the execution was no longer ours."""
    now = timezone.now()
    succeeded = result.succeeded
    updated = Execution.objects(execution_id=execution_id, status=Status.RUNNING, worker=worker).update(
        set__status=Status.COMPLETED if succeeded else Status.FAILED,
        set__error_type=None if succeeded else (result.error_type or ErrorType.RUNTIME_ERROR).value,
        set__error_message=result.message,
        set__exit_code=result.exit_code,
        set__signal=result.signal,
        set__output=stdout,
        set__errors=stderr or None,
        set__output_seq=output_seq,
        set__output_truncated=result.output_truncated,
        set__duration_ms=result.duration_ms,
        set__cpu_ms=result.cpu_ms,
        set__peak_memory_kb=result.peak_memory_kb,
        set__finished_at=now,
        set__updated_at=now,
        set__lease_until=None,
    )
    if updated:
        log.info(
            "execution finished",
            extra={"execution_id": execution_id, "status": "completed" if succeeded else "failed",
                   "error_type": result.error_type},
        )
    return bool(updated)


def execution_release(*, execution_id: str, worker: str) -> bool:
    """Put a claimed execution back in the queue (the sandbox could not start, transiently)."""
    return bool(
        Execution.objects(execution_id=execution_id, status=Status.RUNNING, worker=worker).update(
            set__status=Status.QUEUED, set__worker=None, set__lease_until=None, set__started_at=None,
            set__output="", set__errors=None, set__output_seq=0, set__updated_at=timezone.now(),
        )
    )


def execution_fail(*, execution_id: str, error_type: ErrorType, message: str, worker: str | None = None) -> bool:
    """Fail a running execution without a run result (system errors, shutdown)."""
    now = timezone.now()
    filter_ = {"execution_id": execution_id, "status": Status.RUNNING}
    if worker:
        filter_["worker"] = worker
    return bool(
        Execution.objects(**filter_).update(
            set__status=Status.FAILED, set__error_type=error_type.value, set__error_message=message,
            set__finished_at=now, set__updated_at=now, set__lease_until=None,
        )
    )


def executions_recover_expired(*, now=None) -> dict[str, int]:
    """Requeue (once) or fail every running execution whose worker stopped renewing its lease."""
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0}
    for execution in Execution.objects(status=Status.RUNNING, lease_until__lt=now).only("execution_id", "attempts"):
        outcome = _recover_one(execution, now)
        if outcome:
            counts[outcome] += 1
    return counts


def _recover_one(execution: Execution, now) -> str | None:
    """None when another recoverer got there first."""
    expired = Execution.objects(execution_id=execution.execution_id, status=Status.RUNNING, lease_until__lt=now)
    if execution.attempts < settings.EXECUTION_MAX_ATTEMPTS and expired.update(
        set__status=Status.QUEUED, set__worker=None, set__lease_until=None, set__started_at=None,
        set__output="", set__errors=None, set__output_seq=0, set__updated_at=now,
    ):
        log.warning("lease expired; execution requeued", extra={"execution_id": execution.execution_id})
        wakeups.notify_queued()
        return "requeued"
    if expired.update(
        set__status=Status.FAILED, set__error_type=ErrorType.SYSTEM_ERROR.value,
        set__error_message=WORKER_LOST_MESSAGE, set__finished_at=now, set__updated_at=now, set__lease_until=None,
    ):
        log.warning("lease expired; execution failed", extra={"execution_id": execution.execution_id})
        return "failed"
    return None
