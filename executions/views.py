"""The pages: the editor at ``/``, the permanent page of one execution, and one's history.

Views only gather what a template and its island need; reads go through the selectors so
the pages apply exactly the access rule of the API. (``/static/`` is ServeStatic's: see
:mod:`integr8scode.static_files`.)
"""

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from executions import quotas, selectors
from executions.caller import Caller
from executions.documents import SHOWN_CANCELLED, Execution, Status
from executions.file_responses import INLINE_TYPES
from executions.runners.base import ErrorType
from executions.runners.outcome import NOT_COMPILED
from executions.schemas import ExecutionOut, file_url
from scripts import selectors as script_selectors
from scripts.models import Visibility
from scripts.schemas import file_size

ID_PLACEHOLDER = "__id__"
WEBSOCKET_PATH = "/ws/executions/{id}/"
SUBMIT_WEBSOCKET_PATH = "/ws/executions/"  # see executions.consumers.SubmitConsumer

STATUS_LABELS = {
    Status.QUEUED: "Queued",
    Status.RUNNING: "Running",
    Status.COMPLETED: "Completed",
    Status.FAILED: "Failed",
    SHOWN_CANCELLED: "Cancelled",  # shown for a failed run whose error_type is cancelled: nobody's error
}
ERROR_TYPE_LABELS = {
    ErrorType.TIMEOUT: "Time limit exceeded",
    ErrorType.MEMORY_LIMIT: "Memory limit exceeded",
    ErrorType.OUTPUT_LIMIT: "Output limit exceeded",
    ErrorType.DISK_LIMIT: "Disk limit exceeded",
    ErrorType.RUNTIME_ERROR: "Runtime error",
    ErrorType.COMPILE_ERROR: "Compile error",
    ErrorType.CANCELLED: "Cancelled",
    ErrorType.SYSTEM_ERROR: "System error",
}
NOT_RECORDED = "—"
REPORT_DISAGREED = "disagreed with the host's measurement ({flags}); the host's figures are shown"
VISIBLE_TO_ANYONE_WITH_LINK = "Anyone with this link can see it."
VISIBLE_TO_OWNER = "Only its owner and the admins can see it."
SCRIPT_UNAVAILABLE = "That saved script does not exist or is not visible to you, so the editor starts from an example."


@require_safe
def editor(request: HttpRequest) -> HttpResponse:
    context = _island_context(request)
    caller = Caller.of_request(request)
    props = {
        **context,
        **_starting_script(request),
        "user_authenticated": request.user.is_authenticated,
        "runtimes": [
            {
                **{
                    key: runtime[key]
                    for key in ("name", "language", "description", "packages", "default", "interactive", "source_file")
                },
                "limits": {
                    key: getattr(runtime["limits"], key) for key in ("wall_seconds", "cpu_seconds", "memory_mb")
                },
                "interactive_wall_seconds": runtime["interactive_wall_seconds"],
            }
            for runtime in selectors.runtimes_for(caller)
        ],
        # Shown beside Run, so a visitor knows the caps before a run is refused (0: no limit).
        "runs_per_minute": quotas.quota_for(caller.quota_subject).submissions_per_minute if caller.quota_subject else 0,
        "input_file_caps": caller.input_file_caps,
        "urls": {
            **context["urls"],
            "save_script": reverse("api:script_create"),
            "update_script": reverse("api:script_update", args=[ID_PLACEHOLDER]),
            "script_page": reverse("script_detail", args=[ID_PLACEHOLDER]),
            # Back to this very page, so a saved script opened signed out is still open after.
            "sign_in": f"{reverse('account_login')}?next={quote(request.get_full_path(), safe='/')}",
        },
        "visibilities": Visibility.choices,
    }
    # "Run Python" while Python is all it serves; "Run code" beside other languages.
    languages = {runtime["language"] for runtime in props["runtimes"]}
    what_runs = "code" if languages - {"python"} else "Python"
    return render(request, "executions/editor.html", {"props": props, "what_runs": what_runs})


@require_safe
def execution_detail(request: HttpRequest, execution_id: str) -> HttpResponse:
    execution = selectors.execution_get_for(execution_id=execution_id, user=request.user)  # or the 404 page
    context = {
        "execution": execution,
        "shown_status": execution.shown_status,
        "status_label": STATUS_LABELS[execution.shown_status],
        "failure_reason": failure_reason(execution),
        "facts": execution_facts(execution),
        "submission": submission_facts(execution),
        "visibility": VISIBLE_TO_OWNER if execution.owner_id else VISIBLE_TO_ANYONE_WITH_LINK,
        "live": not execution.is_final,
        "files": file_facts(execution),
        "props": {**_island_context(request), "execution": execution_payload(execution)},
    }
    return render(request, "executions/detail.html", context)


def file_facts(execution: Execution) -> list[dict]:
    """The run's files as the page lists them (the same as FileList.svelte)."""
    return [
        {
            "name": file.name,
            "basename": file.name.rpartition("/")[2],
            "url": file_url(execution.execution_id, file.name),
            "size_label": format_bytes(file.size),
            "inline": file.content_type in INLINE_TYPES,
        }
        for file in execution.files
    ]


def format_bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    return f"{size / 1024:.1f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


def execution_payload(execution: Execution) -> dict:
    """The execution as the API and the WebSocket show it, so islands read one shape."""
    return ExecutionOut.from_orm(execution).model_dump(mode="json")


def _island_context(request: HttpRequest) -> dict:
    """What every island needs: where the API lives, the labels, and the CSRF token that
    session-authenticated writes will require."""
    return {
        "csrf_token": get_token(request),
        "urls": {
            "submit": SUBMIT_WEBSOCKET_PATH,
            "submit_http": reverse("api:execution_create"),
            "execution": reverse("api:execution_detail", args=[ID_PLACEHOLDER]),
            "cancel": reverse("api:execution_cancel", args=[ID_PLACEHOLDER]),
            "stdin": reverse("api:execution_stdin", args=[ID_PLACEHOLDER]),
            "page": reverse("executions:detail", args=[ID_PLACEHOLDER]),
            "websocket": WEBSOCKET_PATH.format(id=ID_PLACEHOLDER),
        },
        "id_placeholder": ID_PLACEHOLDER,
        "labels": {"status": STATUS_LABELS, "error_type": ERROR_TYPE_LABELS},
    }


def _starting_script(request: HttpRequest) -> dict:
    """``/?script=<key>`` opens the editor on a visible saved script and ``/?from=<id>`` on
    the script of a visible execution (their pages link here); anything else, including a
    key or id the caller may not see, starts from an example."""
    if request.GET.get("script"):
        try:
            saved = script_selectors.script_get_for(key=request.GET["script"], user=request.user)
        except script_selectors.ScriptNotFound:
            return {"script": None, "stdin": "", "runtime": None, "notice": SCRIPT_UNAVAILABLE}
        files = [file | {"size": file_size(file)} for file in saved.files]
        return {
            "script": saved.source,
            "stdin": "",
            "runtime": saved.runtime,
            "title": saved.title,
            "files": files,
            # Save writes back to the script only for its owner; anyone else saves a copy.
            "saved_script": {"key": saved.key, "title": saved.title, "visibility": saved.visibility}
            if script_selectors.script_editable_by(script=saved, user=request.user)
            else None,
        }
    try:
        source = selectors.execution_get_for(execution_id=request.GET.get("from", ""), user=request.user)
    except selectors.ExecutionNotFound:
        return {"script": None, "stdin": "", "runtime": None}
    return {"script": source.script, "stdin": source.stdin, "runtime": source.runtime}


def failure_reason(execution: Execution) -> str:
    if execution.status != Status.FAILED:
        return ""
    if execution.error_type == ErrorType.RUNTIME_ERROR and execution.exception_type:
        line = f" (line {execution.exception_line})" if execution.exception_line else ""
        message = f": {execution.exception_message}" if execution.exception_message else ""
        return f"{execution.exception_type}{message}{line}"
    if execution.error_type == ErrorType.RUNTIME_ERROR:
        return f"{ERROR_TYPE_LABELS[ErrorType.RUNTIME_ERROR]} ({_how_it_ended(execution)})"
    if execution.error_type == ErrorType.COMPILE_ERROR:
        # The compiler's own messages are in the output; a limit that stopped it is said.
        label = ERROR_TYPE_LABELS[ErrorType.COMPILE_ERROR]
        said = execution.error_message and execution.error_message != NOT_COMPILED["none"]
        return f"{label}: {execution.error_message}" if said else label
    return execution.error_message or ERROR_TYPE_LABELS.get(
        execution.error_type, ERROR_TYPE_LABELS[ErrorType.SYSTEM_ERROR]
    )


def _how_it_ended(execution: Execution) -> str:
    if execution.signal:
        return f"killed by signal {execution.signal}"
    return f"exit code {execution.exit_code}"


def execution_facts(execution: Execution) -> list[tuple[str, str]]:
    """How the run went; the islands show the same (svelte-islands/src/lib/format.js)."""
    return [
        ("Duration", format_ms(execution.duration_ms)),
        ("CPU time", format_ms(execution.cpu_ms)),
        ("Peak memory", format_kb(execution.peak_memory_kb)),
        ("Exit code", NOT_RECORDED if execution.exit_code is None else str(execution.exit_code)),
        *([("Compile time", format_ms(execution.compile_ms))] if execution.compile_ms is not None else []),
        *([("Sandbox report", REPORT_DISAGREED.format(flags=", ".join(execution.flags)))] if execution.flags else []),
    ]


def submission_facts(execution: Execution) -> list[tuple[str, str]]:
    return [
        ("Execution id", execution.execution_id),
        ("Runtime", execution.runtime),
        ("Limits", format_limits(execution.limits)),
        ("Submitted", format_time(execution.created_at)),
        ("Started", format_time(execution.started_at)),
        ("Finished", format_time(execution.finished_at)),
    ]


def format_ms(milliseconds: int | None) -> str:
    if milliseconds is None:
        return NOT_RECORDED
    return f"{milliseconds} ms" if milliseconds < 1000 else f"{milliseconds / 1000:.2f} s"


def format_kb(kilobytes: int | None) -> str:
    if kilobytes is None:
        return NOT_RECORDED
    return f"{kilobytes} KiB" if kilobytes < 1024 else f"{kilobytes / 1024:.1f} MiB"


def format_limits(limits: dict) -> str:
    return (
        f"{limits['wall_seconds']:g} s wall · {limits['cpu_seconds']} s CPU · {limits['memory_mb']} MiB memory · "
        f"{limits['processes']} processes · {limits['disk_mb']} MiB disk · "
        f"{format_kb(limits['output_bytes'] // 1024)} output"
    )


def format_time(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else NOT_RECORDED


@login_required
@require_safe
def execution_history(request: HttpRequest) -> HttpResponse:
    """The "My executions" page: newest first, optionally one status only."""
    status = request.GET.get("status") or None
    if status not in (None, *Status.ALL):
        status = None
    runs = selectors.execution_list_for(user=request.user, status=status, page=page_number(request))
    return render(request, "executions/history.html", {"runs": runs, "status": status, "statuses": Status.ALL})


def page_number(request: HttpRequest) -> int:
    """``?page=``, at least 1; anything else is the first page."""
    try:
        return max(1, int(request.GET.get("page", 1)))
    except ValueError:
        return 1
