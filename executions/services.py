"""Writes to executions on behalf of people and programs. Views, API operations, consumers and
the admin change executions through these functions; the engine's own writes are in
:mod:`executions.engine.transitions`."""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import asdict

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac
from mongoengine.errors import NotUniqueError

from executions import engine, errors, metrics, quotas, selectors
from executions.artifacts import artifacts_delete
from executions.caller import Caller
from executions.documents import OWNER_SCOPE, Execution, InputFile, Status
from executions.limits import limits_resolve
from executions.runners.base import ErrorType, get_runner
from executions.runners.files import name_problem

log = logging.getLogger(__name__)

SCRIPT_TOO_LARGE = "script is {size} bytes; the limit is {limit} bytes"
STDIN_TOO_LARGE = "stdin is {size} bytes; the limit is {limit} bytes"
SCRIPT_EMPTY = "script must not be empty"
UNKNOWN_RUNTIME = "runtime {runtime!r} is not available here (available: {available})"
ALREADY_FINISHED = "execution {execution_id} has already finished ({status})"
NOT_INTERACTIVE_HERE = "runtime {runtime!r} cannot run interactively on this server: give stdin with the submission"
NOT_INTERACTIVE = (
    "execution {execution_id} is not interactive: its stdin was the text given with the submission "
    '(submit with "interactive": true to type input while it runs)'
)
INPUT_ENDED = "the stdin of execution {execution_id} has ended (eof was sent): it takes no more input"
INPUT_TOO_LARGE = "stdin would be {size} bytes with this text; the limit is {limit} bytes"
IDEMPOTENCY_KEY_INVALID = "The idempotency key must be 1 to 200 printable ASCII characters"
# The idempotency scope of anonymous submissions made without a request (no address to count).
UNMETERED_SCOPE = "unmetered"
SCOPE_SALT = "executions.idempotency"


FILES_TOO_MANY = "{count} files are given; at most {cap} may be"
FILES_TOO_LARGE = "the files given take {size} bytes; at most {cap} may be given"
FILES_OVER_DISK = "the files given take {size} bytes, more than the run's disk limit of {disk_mb} MiB"
FILE_TWICE = "files[{index}]: {name!r} is given twice"
FILE_UNDER_FILE = "files[{index}]: {name!r} would be inside {parent!r}, which is a file"
FILE_NOT_BASE64 = "files[{index}]: the content of {name!r} is not base64"
FILE_BAD_NAME = "files[{index}]: {problem}"


class SubmissionRejected(errors.Invalid):
    """The submission cannot be accepted (422, or 413 for what is too large)."""


class AlreadyFinished(errors.Conflict):
    pass


def runtime_resolve(*, runtime: str | None) -> str:
    available = list(get_runner().runtimes())
    chosen = runtime or selectors.runtime_default(available)
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


def input_files_decode(*, files: list[dict], caps: dict[str, int], disk_mb: int) -> list[InputFile]:
    """The files of a submission (``{"name", "content", "encoding"}``), decoded and checked:
    names (422), how many (422) and their size in all (413, or 422 beyond the disk limit)."""
    if len(files) > caps["count"]:
        raise SubmissionRejected(FILES_TOO_MANY.format(count=len(files), cap=caps["count"]))
    decoded: dict[str, InputFile] = {}
    for index, file in enumerate(files):
        name = file["name"]
        if problem := name_problem(name):
            raise SubmissionRejected(FILE_BAD_NAME.format(index=index, problem=problem))
        if name in decoded:
            raise SubmissionRejected(FILE_TWICE.format(index=index, name=name))
        if file.get("encoding", "utf8") == "base64":
            try:
                data = base64.b64decode(file["content"], validate=True)
            except (binascii.Error, ValueError):
                raise SubmissionRejected(FILE_NOT_BASE64.format(index=index, name=name)) from None
        else:
            data = file["content"].encode("utf-8", "surrogatepass")
        decoded[name] = InputFile(name=name, data=data)
    for index, name in enumerate(decoded):
        parents = ["/".join(name.split("/")[:depth]) for depth in range(1, name.count("/") + 1)]
        if parent := next((parent for parent in parents if parent in decoded), None):
            raise SubmissionRejected(FILE_UNDER_FILE.format(index=index, name=name, parent=parent))
    size = sum(len(file.data) for file in decoded.values())
    if size > caps["total_bytes"]:
        raise SubmissionRejected(FILES_TOO_LARGE.format(size=size, cap=caps["total_bytes"]), status=413)
    if size > disk_mb << 20:
        raise SubmissionRejected(FILES_OVER_DISK.format(size=size, disk_mb=disk_mb))
    return list(decoded.values())


def execution_submit(
    *,
    caller: Caller,
    script: str,
    stdin: str = "",
    interactive: bool = False,
    runtime: str | None = None,
    limits: dict | None = None,
    files: list[dict] | None = None,
    script_id: int | None = None,
    idempotency_key: str | None = None,
    input_caps: dict[str, int] | None = None,
) -> tuple[Execution, bool]:
    """Queue a script for ``caller``: theirs, within their caps and quotas
    (:class:`quotas.QuotaExceeded`). Returns the execution and whether it was created (False:
    an earlier submission of the same caller with the same idempotency key). ``input_caps``:
    the caps the files are held to where the caller did not give them (a saved script's)."""
    _check_idempotency_key(idempotency_key)
    _check_sizes(script=script, stdin=stdin)
    scope = _idempotency_scope(caller) if idempotency_key else None
    if scope and (existing := Execution.objects(idempotency_scope=scope, idempotency_key=idempotency_key).first()):
        return existing, False
    runtime = runtime_resolve(runtime=runtime)
    if interactive and not selectors.runtime_interactive(get_runner().runtimes()[runtime]):
        raise SubmissionRejected(NOT_INTERACTIVE_HERE.format(runtime=runtime))
    try:
        resolved = limits_resolve(requested=limits, caps=caller.caps_in(runtime, interactive=interactive))
    except ValueError as exc:
        raise SubmissionRejected(str(exc)) from None
    caps = input_caps or caller.input_file_caps
    input_files = input_files_decode(files=files or [], caps=caps, disk_mb=resolved.disk_mb)
    with quotas.quota_admit(subject=caller.quota_subject, interactive=interactive) as admitted:
        execution = Execution(
            script=script,
            stdin=stdin,
            interactive=interactive,
            input_bytes=len(stdin.encode("utf-8", "surrogatepass")),
            input_files=input_files,
            file_caps=asdict(caller.output_file_caps),
            runtime=runtime,
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


def execution_feed(*, execution: Execution, text: str = "", eof: bool = False) -> Execution:
    """Append ``text`` to an interactive run's stdin, then end it if ``eof``: in one conditional
    update, so input is never taken for a run that has finished, whose input has ended, or
    beyond the stdin cap. Its dispatcher passes it on at once (also a queued run's, once it
    starts). Whoever may cancel a run may feed it."""
    if not execution.interactive:
        raise errors.Conflict(NOT_INTERACTIVE.format(execution_id=execution.execution_id))
    size = len(text.encode("utf-8", "surrogatepass"))
    changes = {
        # One string, appended to ($literal: a text starting with "$" is not a field's name).
        "typed": {"$concat": [{"$ifNull": ["$typed", ""]}, {"$literal": text}]},
        "input_bytes": {"$add": [{"$ifNull": ["$input_bytes", 0]}, size]},
        "updated_at": timezone.now(),
    }
    if eof:
        changes["input_closed"] = True
    fed = Execution._get_collection().update_one(
        {
            "_id": execution.execution_id,
            "status": {"$in": [Status.QUEUED, Status.RUNNING]},
            "input_closed": False,
            "input_bytes": {"$lte": settings.STDIN_MAX_BYTES - size},
        },
        [{"$set": changes}],
    )
    if not fed.matched_count:
        execution.reload("status", "input_closed", "input_bytes")
        if execution.is_final:
            raise AlreadyFinished(ALREADY_FINISHED.format(execution_id=execution.execution_id, status=execution.status))
        if execution.input_closed:
            raise errors.Conflict(INPUT_ENDED.format(execution_id=execution.execution_id))
        size += execution.input_bytes
        raise SubmissionRejected(INPUT_TOO_LARGE.format(size=size, limit=settings.STDIN_MAX_BYTES), status=413)
    engine.notify_typed(execution.execution_id)
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
    artifacts_delete(execution_id=execution.execution_id)  # after: a run still ending stores none now
    log.info("execution deleted", extra={"execution_id": execution.execution_id})
