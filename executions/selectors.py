"""Reads of executions, with the access rule applied."""

import math
import re
from dataclasses import dataclass

from django.conf import settings
from gridfs.errors import NoFile
from mongoengine.queryset.visitor import Q as MongoQ

from executions import engine, errors
from executions.artifacts import artifact_read
from executions.documents import OWNER_HISTORY_INDEX, Execution, OutputFile, Status
from executions.runners.base import get_runner

EXECUTION_ID_RE = re.compile(r"^[0-9a-f]{32}$")
EXECUTION_NOT_FOUND = "No execution with id {execution_id!r} is visible to you."


FILE_NOT_FOUND = "Execution {execution_id} has no file {name!r}"


class ExecutionNotFound(errors.NotFound):
    def __init__(self, execution_id: str):
        super().__init__(EXECUTION_NOT_FOUND.format(execution_id=execution_id[:64]))


def execution_visible_to(*, execution: Execution, user) -> bool:
    """Anonymous executions are readable by whoever holds the id; owned ones by the owner and staff."""
    if execution.owner_id is None:
        return True
    return bool(user and user.is_authenticated and (user.pk == execution.owner_id or user.is_staff))


def execution_get_for(*, execution_id: str, user) -> Execution:
    """The execution, or :class:`ExecutionNotFound` (also when it exists but is not the caller's,
    so ids do not leak)."""
    if not EXECUTION_ID_RE.match(execution_id):
        raise ExecutionNotFound(execution_id)
    execution = Execution.objects(execution_id=execution_id).first()
    if execution is None or not execution_visible_to(execution=execution, user=user):
        raise ExecutionNotFound(execution_id)
    return execution


def runtimes_for(caller) -> list[dict]:
    """The runtimes this server runs, as ``caller`` may use them: what each offers, whether it
    is the default, what isolates it, and the caller's caps in it."""
    runner = get_runner()
    available = runner.runtimes()
    default = runtime_default(available)
    return [
        {
            "name": name,
            "language": info.language,
            "version": info.version,
            "description": info.description,
            "packages": info.packages,
            "default": name == default,
            "isolation": runner.isolation_of(name),
            "limits": caller.caps_in(name),
            "interactive": runtime_interactive(info),
            "compiled": info.compiled,
            "source_file": info.source_file,
            "interactive_wall_seconds": caller.caps_in(name, interactive=True).wall_seconds,
        }
        for name, info in available.items()
    ]


def runtime_interactive(info) -> bool:
    """Whether runs of a runtime can be interactive here: the runner can feed them, and the
    server allows interactive sessions at all."""
    return info.interactive and settings.INTERACTIVE_SESSIONS_MAX > 0


def runtime_default(available) -> str:
    return settings.DEFAULT_RUNTIME or next(iter(available))


def execution_file_get_for(*, execution_id: str, name: str, user) -> tuple[OutputFile, bytes]:
    """One file a run made, and its bytes, under the execution's access rule; NotFound else."""
    execution = execution_get_for(execution_id=execution_id, user=user)
    found = next((file for file in execution.files if file.name == name), None)
    if found is None:
        raise errors.NotFound(FILE_NOT_FOUND.format(name=name[:256], execution_id=execution_id))
    try:
        return found, artifact_read(found.file_id)
    except NoFile:
        raise errors.NotFound(FILE_NOT_FOUND.format(name=name[:256], execution_id=execution_id)) from None


def execution_live(*, execution_id: str, read: Execution | None = None) -> Execution:
    """The execution as it stands now. While a run of this process has it: as claimed, with
    all the output written so far (the store lags by up to a heartbeat), whether it waits for
    input and what was typed, a copy not to be saved. Otherwise as stored: ``read``, an
    earlier read of it, is enough once it is final."""
    live = engine.live_run(execution_id)
    if live is not None:
        execution = Execution._from_son(live.execution.to_mongo())
        execution.output, execution.errors, execution.output_seq = live.stdout, live.stderr or None, live.seq
        execution.waiting_for_input = live.waiting_for_input
        if execution.interactive:  # what was typed since it was claimed is in the store only
            typed = Execution.objects(execution_id=execution_id).only("typed", "input_closed", "input_bytes").first()
            if typed is not None:
                execution.typed, execution.input_closed = typed.typed or "", typed.input_closed
                execution.input_bytes = typed.input_bytes
        return execution
    if read is not None and read.is_final:
        return read
    return Execution.objects.get(execution_id=execution_id)


# --- history and search (lists) ----------------------------------------------------------

PAGE_SIZE = 20
UNKNOWN_STATUS = "status must be one of: {known}"


@dataclass(frozen=True)
class Page:
    items: list
    number: int
    pages: int
    count: int

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def execution_list_for(
    *, user, status: str | None = None, script_id: int | None = None, page: int = 1, per_page: int = PAGE_SIZE
) -> Page:
    """The user's own executions, newest first (all owners' for staff when ``script_id`` is
    given: a script page lists every run of it that its viewer may see). Anonymous users own
    none that can be listed: theirs are reached by id only."""
    if not (user and user.is_authenticated):
        return Page(items=[], number=1, pages=1, count=0)
    filters = {"script_id": script_id} if script_id is not None else {}
    if not (user.is_staff and script_id is not None):
        filters["owner_id"] = user.pk
    return _page(_with_status(_executions(filters), status), page=page, per_page=per_page)


def executions_search(
    *,
    status: str | None = None,
    owner_id: int | None = None,
    anonymous_only: bool = False,
    created_from=None,
    created_to=None,
    text: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Every execution matching the filters, newest first (the admin's list); ``text``: the
    start of its id, or text of its script (any case)."""
    filters = {}
    if owner_id is not None:
        filters["owner_id"] = owner_id
    elif anonymous_only:
        filters["owner_id"] = None
    if created_from is not None:
        filters["created_at__gte"] = created_from
    if created_to is not None:
        filters["created_at__lt"] = created_to
    found = _executions(filters)
    if text:
        found = found.filter(MongoQ(execution_id__startswith=text.lower()) | MongoQ(script__icontains=text))
    return _page(_with_status(found, status), page=page, per_page=per_page)


def _executions(filters: dict):
    """The executions matching ``filters``; one owner's through that owner's history index.
    With a status too, the status indexes (``queue_claim``, ``lease_expiry``) would also fit:
    the embedded store takes the one named (else it may read every execution of that
    status), and MongoDB need not try them all."""
    queryset = Execution.objects(**filters)
    return queryset.hint(OWNER_HISTORY_INDEX) if filters.get("owner_id") is not None else queryset


def _with_status(queryset, status: str | None):
    if not status:
        return queryset
    if status not in Status.ALL:
        raise ValueError(UNKNOWN_STATUS.format(known=", ".join(Status.ALL)))
    return queryset.filter(status=status)


def _page(queryset, *, page: int, per_page: int) -> Page:
    count = queryset.count()
    pages = max(1, math.ceil(count / per_page))
    number = min(max(1, page), pages)
    start = (number - 1) * per_page
    items = list(
        queryset.order_by("-created_at").exclude("output", "errors", "stdin", "input_files")[start : start + per_page]
    )
    return Page(items=items, number=number, pages=pages, count=count)
