"""Writes to executions on behalf of people and programs. Views, API operations, consumers and
the admin change executions through these functions; the engine's own writes are in
:mod:`executions.engine.transitions`."""

from __future__ import annotations

import logging
from dataclasses import asdict

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac
from mongoengine.errors import NotUniqueError

from executions import engine, errors, metrics, quotas
from executions.caller import Caller
from executions.documents import OWNER_SCOPE, Execution, Status
from executions.limits import limits_resolve
from executions.runners.base import ErrorType, get_runner

log = logging.getLogger(__name__)

SCRIPT_TOO_LARGE = "script is {size} bytes; the limit is {limit} bytes"
STDIN_TOO_LARGE = "stdin is {size} bytes; the limit is {limit} bytes"
SCRIPT_EMPTY = "script must not be empty"
UNKNOWN_RUNTIME = "runtime {runtime!r} is not available here (available: {available})"
ALREADY_FINISHED = "execution {execution_id} has already finished ({status})"
IDEMPOTENCY_KEY_INVALID = "The idempotency key must be 1 to 200 printable ASCII characters"
# The idempotency scope of anonymous submissions made without a request (no address to count).
UNMETERED_SCOPE = "unmetered"
SCOPE_SALT = "executions.idempotency"


class SubmissionRejected(errors.Invalid):
    """The submission cannot be accepted (422, or 413 for what is too large)."""


class AlreadyFinished(errors.Conflict):
    pass


def runtime_resolve(*, runtime: str | None) -> str:
    available = list(get_runner().runtimes())
    chosen = runtime or settings.DEFAULT_RUNTIME or available[0]
    if chosen not in available:
        raise SubmissionRejected(UNKNOWN_RUNTIME.format(runtime=chosen, available=", ".join(available)))
    return chosen


def _check_idempotency_key(key) -> None:
    if key is not None and not (isinstance(key, str) and 0 < len(key) <= 200 and key.isascii() and key.isprintable()):
        raise SubmissionRejected(IDEMPOTENCY_KEY_INVALID)


def _idempotency_scope(caller: Caller) -> str:
    """Whose keys a submission's idempotency key is among: its quota subject's (the user, or the
    address block quotas count an anonymous caller by), so no caller ever meets another's
    execution through a key. Addresses are kept only as a keyed hash."""
    if caller.owner_id is not None:
        return OWNER_SCOPE.format(owner_id=caller.owner_id)
    if caller.address:
        block = quotas.address_block(caller.address)
        return "ip:" + salted_hmac(SCOPE_SALT, block, algorithm="sha256").hexdigest()[:32]
    return UNMETERED_SCOPE


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
    caller: Caller,
    script: str,
    stdin: str = "",
    runtime: str | None = None,
    limits: dict | None = None,
    script_id: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[Execution, bool]:
    """Queue a script for ``caller``: theirs, within their caps and quotas
    (:class:`quotas.QuotaExceeded`). Returns the execution and whether it was created (False:
    an earlier submission of the same caller with the same idempotency key)."""
    _check_idempotency_key(idempotency_key)
    _check_sizes(script=script, stdin=stdin)
    scope = _idempotency_scope(caller) if idempotency_key else None
    if scope and (existing := Execution.objects(idempotency_scope=scope, idempotency_key=idempotency_key).first()):
        return existing, False
    try:
        resolved = limits_resolve(requested=limits, caps=caller.caps)
    except ValueError as exc:
        raise SubmissionRejected(str(exc)) from None
    with quotas.quota_admit(subject=caller.quota_subject) as admitted:
        execution = Execution(
            script=script,
            stdin=stdin,
            runtime=runtime_resolve(runtime=runtime),
            limits=asdict(resolved),
            owner_id=caller.owner_id,
            script_id=script_id,
            idempotency_key=idempotency_key,
            idempotency_scope=scope,
        )
        try:
            execution.save(force_insert=True)
        except NotUniqueError:  # a simultaneous retry inserted it first (mongoengine's name for E11000)
            return Execution.objects.get(idempotency_scope=scope, idempotency_key=idempotency_key), False
        # A dispatcher in this process with a free slot takes it at once; otherwise it
        # goes through the queue collection to whichever dispatcher is free first.
        handed_over = engine.offer(execution.execution_id)
        if not handed_over:
            engine.execution_enqueue(execution=execution)
        admitted(execution)
    log.info("execution queued", extra={"execution_id": execution.execution_id})
    metrics.submitted.labels(execution.runtime).inc()
    if not handed_over:
        engine.notify_queued()
    return execution, True


def execution_cancel(*, execution: Execution) -> Execution:
    """Cancel a queued execution at once; ask the worker of a running one to stop it."""
    now = timezone.now()
    if Execution.objects(execution_id=execution.execution_id, status=Status.QUEUED).update(
        set__status=Status.FAILED,
        set__error_type=ErrorType.CANCELLED.value,
        set__error_message=engine.CANCELLED_MESSAGE,
        set__finished_at=now,
        set__updated_at=now,
    ):
        log.info("execution cancelled while queued", extra={"execution_id": execution.execution_id})
        metrics.finished.labels(execution.runtime, "", Status.FAILED, ErrorType.CANCELLED.value).inc()
    elif Execution.objects(execution_id=execution.execution_id, status=Status.RUNNING).update(
        set__cancel_requested=True, set__updated_at=now
    ):
        engine.request_stop(execution.execution_id)
    else:
        execution.reload()
        raise AlreadyFinished(ALREADY_FINISHED.format(execution_id=execution.execution_id, status=execution.status))
    execution.reload()
    return execution


# --- moderation (accounts.services and the admin) ----------------------------------------


def executions_cancel_for_owner(*, owner_id: int) -> int:
    """Cancel everything the owner has queued or running (a ban or deactivation). Returns how
    many were cancelled; ones that finish meanwhile are left as they ended."""
    cancelled = 0
    for execution in Execution.objects(owner_id=owner_id, status__in=[Status.QUEUED, Status.RUNNING]):
        try:
            execution_cancel(execution=execution)
            cancelled += 1
        except AlreadyFinished:
            pass
    return cancelled


def execution_delete(*, execution: Execution) -> None:
    """Delete the record of an execution, stopping it first if it is still queued or running
    (its worker sees the record gone at the next lease renewal and stops too)."""
    if not execution.is_final:
        try:
            execution_cancel(execution=execution)
        except AlreadyFinished:
            pass
    Execution.objects(execution_id=execution.execution_id).delete()
    log.info("execution deleted", extra={"execution_id": execution.execution_id})
