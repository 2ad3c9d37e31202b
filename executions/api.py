"""The executions API: the seed's two endpoints and the versioned ``/api/v1`` operations.
Operations only translate HTTP to services and selectors and back."""

from django.conf import settings
from django.http import HttpRequest
from ninja import Header, Query, Router
from ninja.errors import HttpError
from ninja.responses import Status

from accounts.auth import api_auth, caller
from executions import engine, selectors, services
from executions.caller import Caller
from executions.documents import Execution
from executions.file_responses import file_response
from executions.schemas import (
    ANY_ERRORS,
    BODY_ERRORS,
    WRITE_ERRORS,
    ErrorOut,
    ExecuteIn,
    ExecuteOut,
    ExecutionIn,
    ExecutionOut,
    ExecutionPageOut,
    InvalidOut,
    ResultOut,
    RuntimesOut,
    StdinIn,
)
from integr8scode.threads import in_thread
from scripts.services import SignInRequired

# Every operation: a JWT, a signed-in session with CSRF, or anonymous (accounts.auth).
seed_router = Router(tags=["seed"], auth=api_auth)
router = Router(tags=["executions"], auth=api_auth)


def _caller(request: HttpRequest):
    """The authenticated user, or None for anonymous callers."""
    return caller(request)


def _owner_id(request: HttpRequest) -> int | None:
    return getattr(_caller(request), "pk", None)


def _result(execution: Execution) -> dict:
    errors = "\n".join(part for part in (execution.errors, execution.error_message) if part) or None
    return {
        "execution_id": execution.execution_id,
        "status": execution.status,
        "output": execution.output or "",
        "errors": errors,
        "error_type": execution.error_type,
        "exit_code": execution.exit_code,
    }


@seed_router.post("/execute", response={200: ExecuteOut, **BODY_ERRORS, 429: ErrorOut}, summary="Run a script")
async def execute(request: HttpRequest, payload: ExecuteIn):
    execution, _ = await in_thread(services.execution_submit)(caller=Caller.of_request(request), script=payload.script)
    return Status(200, {"execution_id": execution.execution_id, "status": execution.status})


@seed_router.get(
    "/result/{execution_id}", response={200: ResultOut, **ANY_ERRORS, 404: ErrorOut}, summary="A script's result"
)
async def result(request: HttpRequest, execution_id: str):
    execution = await in_thread(selectors.execution_get_for)(execution_id=execution_id, user=_caller(request))
    return Status(200, _result(execution))


@router.post(
    "/executions",
    response={200: ExecutionOut, 201: ExecutionOut, **BODY_ERRORS, 429: ErrorOut},
    summary="Submit a script",
    description=(
        "Queues a script. With `wait=true` the response comes when the script has finished, "
        "if it finishes within its wall limit; otherwise it returns the execution as it stands. "
        "A repeated `Idempotency-Key` returns the original execution with status 200."
    ),
)
async def execution_create(
    request: HttpRequest,
    payload: ExecutionIn,
    wait: bool = False,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    execution, created = await in_thread(services.execution_submit)(
        **payload.submission(),
        caller=Caller.of_request(request),
        idempotency_key=idempotency_key,
    )
    if wait and not execution.is_final:
        execution = await engine.execution_wait_result(execution)
    return Status(201 if created else 200, execution)


@router.get(
    "/executions",
    response={200: ExecutionPageOut, **ANY_ERRORS, 422: InvalidOut},
    summary="Your executions",
    description="The caller's executions, newest first, optionally only those with one `status`; "
    f"{selectors.PAGE_SIZE} to a page.",
)
async def execution_list(request: HttpRequest, status: str | None = None, page: int = Query(1, ge=1)):
    user = _caller(request)
    if user is None:
        raise SignInRequired()
    try:
        found = await in_thread(selectors.execution_list_for)(user=user, status=status, page=page)
    except ValueError as exc:
        raise HttpError(422, str(exc)) from None
    return {"items": found.items, "page": found.number, "pages": found.pages, "count": found.count}


@router.get(
    "/executions/{execution_id}", response={200: ExecutionOut, **ANY_ERRORS, 404: ErrorOut}, summary="One execution"
)
async def execution_detail(request: HttpRequest, execution_id: str):
    return await in_thread(selectors.execution_get_for)(execution_id=execution_id, user=_caller(request))


@router.post(
    "/executions/{execution_id}/cancel",
    response={200: ExecutionOut, **WRITE_ERRORS, 404: ErrorOut, 409: ErrorOut},
    summary="Cancel an execution",
    description="A queued execution fails at once as `cancelled`; a running one is stopped within a moment.",
)
async def execution_cancel(request: HttpRequest, execution_id: str):
    execution = await in_thread(selectors.execution_get_for)(execution_id=execution_id, user=_caller(request))
    return await in_thread(services.execution_cancel)(execution=execution)


@router.post(
    "/executions/{execution_id}/stdin",
    response={200: ExecutionOut, **BODY_ERRORS, 404: ErrorOut, 409: ErrorOut},
    summary="Type input for an interactive run",
    description="Appends `text` to the stdin of an execution submitted with `interactive: true` (queued or "
    "running), then ends it with `eof: true`. Who may cancel an execution may feed it. 409 when it has "
    "finished, is not interactive or its stdin has ended; 413 beyond the stdin cap (`stdin_max_bytes`, "
    "counting the submission's `stdin`). `waiting_for_input` says when it waits for more.",
)
async def execution_stdin(request: HttpRequest, execution_id: str, payload: StdinIn):
    execution = await in_thread(selectors.execution_get_for)(execution_id=execution_id, user=_caller(request))
    return await in_thread(services.execution_feed)(execution=execution, text=payload.text, eof=payload.eof)


@router.get(
    "/runtimes",
    response={200: RuntimesOut, **ANY_ERRORS},
    summary="Runtimes and limit caps",
    description="The runtimes this server runs, and the most the caller may ask for: anonymous "
    "callers have lower caps than signed-in users.",
)
def runtimes(request: HttpRequest):
    caller = Caller.of_request(request)
    listed = selectors.runtimes_for(caller)
    return {
        "runtimes": listed,
        "limits": next(runtime["limits"] for runtime in listed if runtime["default"]),
        "script_max_bytes": settings.SCRIPT_MAX_BYTES,
        "stdin_max_bytes": settings.STDIN_MAX_BYTES,
        "input_files": caller.input_file_caps,
        "output_files": caller.output_file_caps,
    }


@router.get(
    "/executions/{execution_id}/files/{path:name}",
    response={200: None, **ANY_ERRORS, 404: ErrorOut},
    summary="A file the run made",
    description="The bytes of one of the execution's `files`, under the execution's access rule. Images "
    "(PNG, JPEG, GIF, WebP) are shown inline; everything else downloads as an attachment, and nothing "
    "served here runs: `X-Content-Type-Options: nosniff` and a sandboxing Content-Security-Policy.",
    openapi_extra={
        "responses": {
            200: {"description": "The file", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}
        }
    },
)
async def execution_file(request: HttpRequest, execution_id: str, name: str):
    found, data = await in_thread(selectors.execution_file_get_for)(
        execution_id=execution_id, name=name, user=_caller(request)
    )
    return file_response(name=found.name, content_type=found.content_type, data=data)
