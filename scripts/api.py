"""The scripts API, ``/api/v1/scripts``: thin operations over script_services and
script_selectors, the same functions the pages call. Synchronous, as they are ORM reads and
writes (ninja runs them in a thread)."""

from django.core.paginator import Paginator
from django.http import HttpRequest
from ninja import Query, Router, Status

from accounts.auth import api_auth, caller
from executions import engine, selectors
from executions.caller import Caller
from executions.schemas import (
    ANY_ERRORS,
    BODY_ERRORS,
    WRITE_ERRORS,
    ErrorOut,
    ExecutionOut,
    ExecutionPageOut,
    InvalidOut,
)
from integr8scode.threads import in_thread
from scripts import selectors as script_selectors
from scripts import services as script_services
from scripts.schemas import (
    ScriptIn,
    ScriptOut,
    ScriptPageOut,
    ScriptPatch,
    ScriptRunIn,
)

PAGE_SIZE = 20

router = Router(tags=["scripts"], auth=api_auth)

PAGE_ERRORS = {**ANY_ERRORS, 422: InvalidOut}


def _script(request: HttpRequest, key: str):
    return script_selectors.script_get_for(key=key, user=caller(request))


def _page(queryset, page: int) -> dict:
    found = Paginator(queryset, PAGE_SIZE).get_page(page)
    return {
        "items": list(found),
        "page": found.number,
        "pages": found.paginator.num_pages,
        "count": found.paginator.count,
    }


@router.get("/scripts", response={200: ScriptPageOut, **PAGE_ERRORS}, summary="Your scripts")
def script_list(request: HttpRequest, page: int = Query(1, ge=1)):
    if caller(request) is None:
        raise script_services.SignInRequired()
    return _page(script_selectors.script_list_owned(user=caller(request)).select_related("owner"), page)


@router.get("/scripts/public", response={200: ScriptPageOut, **PAGE_ERRORS}, summary="Public scripts")
def script_list_public(request: HttpRequest, page: int = Query(1, ge=1)):
    return _page(script_selectors.script_list_public(), page)


@router.post("/scripts", response={201: ScriptOut, **BODY_ERRORS}, summary="Save a script")
def script_create(request: HttpRequest, payload: ScriptIn):
    script = script_services.script_create(owner=caller(request), **payload.model_dump())
    return Status(201, script)


@router.get("/scripts/{key}", response={200: ScriptOut, **ANY_ERRORS, 404: ErrorOut}, summary="One script")
def script_detail(request: HttpRequest, key: str):
    return _script(request, key)


@router.patch("/scripts/{key}", response={200: ScriptOut, **BODY_ERRORS, 404: ErrorOut}, summary="Change a script")
def script_update(request: HttpRequest, key: str, payload: ScriptPatch):
    return script_services.script_update(
        script=_script(request, key), user=caller(request), **payload.model_dump(exclude_none=True)
    )


@router.delete("/scripts/{key}", response={204: None, **WRITE_ERRORS, 404: ErrorOut}, summary="Delete a script")
def script_delete(request: HttpRequest, key: str):
    script_services.script_delete(script=_script(request, key), user=caller(request))
    return Status(204, None)


@router.post(
    "/scripts/{key}/fork",
    response={201: ScriptOut, **WRITE_ERRORS, 404: ErrorOut, 413: ErrorOut, 422: InvalidOut},
    summary="Copy a script to your own",
)
def script_fork(request: HttpRequest, key: str):
    return Status(201, script_services.script_fork(script=_script(request, key), user=caller(request)))


@router.post(
    "/scripts/{key}/run",
    response={200: ExecutionOut, 201: ExecutionOut, **BODY_ERRORS, 404: ErrorOut, 429: ErrorOut},
    summary="Run a script",
    description="Runs the saved source as the caller, like POST /api/v1/executions; with `wait=true` "
    "the response comes when it has finished (within its wall limit).",
)
async def script_run(request: HttpRequest, key: str, payload: ScriptRunIn | None = None, wait: bool = False):
    payload = payload or ScriptRunIn()
    script = await in_thread(_script)(request, key)
    execution, created = await in_thread(script_services.script_run)(
        script=script,
        caller=Caller.of_request(request),
        stdin=payload.stdin,
        limits=payload.limits.model_dump(exclude_none=True) if payload.limits else None,
    )
    if wait and not execution.is_final:
        execution = await engine.execution_wait_result(execution)
    return Status(201 if created else 200, execution)


@router.get(
    "/scripts/{key}/executions",
    response={200: ExecutionPageOut, **PAGE_ERRORS, 404: ErrorOut},
    summary="Runs of a script you can see",
)
def script_executions(request: HttpRequest, key: str, page: int = Query(1, ge=1)):
    script = _script(request, key)
    found = selectors.execution_list_for(user=caller(request), script_id=script.pk, page=page)
    return {"items": found.items, "page": found.number, "pages": found.pages, "count": found.count}
