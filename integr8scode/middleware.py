"""Middleware of the project's own, beside the request id's (in :mod:`integr8scode.logs`)."""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.deprecation import MiddlewareMixin

from executions.errors import AppError, NotFound
from executions.schemas import LONE_SURROGATE
from integr8scode import strict_json
from integr8scode.api import MALFORMED_JSON
from integr8scode.views import ALLAUTH_API_PREFIX, API_PREFIXES


def sync_middleware_stack(get_response):
    """Last in ``MIDDLEWARE``, and sync-only: Django then runs the whole stack above it as sync
    code in one worker thread, entered and left once per request, instead of hopping to a
    thread and back for each sync hook of each middleware (about fifteen hops, ~5 ms of a
    request on a small machine). Views stay async; this passes every request straight on."""
    return get_response


sync_middleware_stack.sync_capable = True
sync_middleware_stack.async_capable = False


def api_errors_as_json(get_response):
    """API clients get every error as JSON ``{"detail": ...}``, also those that Django and ninja
    answer in HTML or plain text themselves (a method not allowed, a host not allowed, a server
    error); headers such as ``Allow`` stay."""

    def middleware(request):
        response = get_response(request)
        if response.status_code >= 400 and request.path.startswith(API_PREFIXES) and not _is_json(response):
            return _as_json(response)
        return response

    return middleware


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def _as_json(response) -> JsonResponse:
    replacement = JsonResponse({"detail": response.reason_phrase}, status=response.status_code)
    for name, value in response.items():
        if name.lower() not in ("content-type", "content-length"):
            replacement[name] = value
    return replacement


def allauth_bodies_checked(get_response):
    """allauth's headless API reads JSON with Python's json module: it takes NaN, and a lone
    surrogate in a field (a user name, a refresh token) ends in a 500 deep inside it. Such
    bodies get a 400 here, in its own error shape."""

    def middleware(request):
        refusal = _allauth_refusal(request) if request.path.startswith(ALLAUTH_API_PREFIX) else None
        if refusal:
            return JsonResponse({"status": 400, "errors": [{"message": refusal, "code": "invalid"}]}, status=400)
        return get_response(request)

    return middleware


def _allauth_refusal(request) -> str | None:
    if not strict_json.is_json_media_type(request.content_type or "") or not request.body:
        return None
    try:
        document = strict_json.loads(request.body)
    except ValueError:
        return MALFORMED_JSON
    return LONE_SURROGATE if strict_json.holds_lone_surrogate(document) else None


ERROR_TITLES = {401: "Sign in first", 403: "Not allowed", 404: "Nothing here", 409: "Too late", 429: "Not now"}


class AppErrorPages(MiddlewareMixin):
    """The pages' one mapping of the project's refusals (executions.errors): a page of the
    site with the status and the message (the site's 404 page for what is not found). The API
    maps them itself (integr8scode/api.py)."""

    def process_exception(self, request, exception):
        if not isinstance(exception, AppError) or request.path.startswith(API_PREFIXES):
            return None
        if isinstance(exception, NotFound):
            return render(request, "404.html", status=404)
        title = ERROR_TITLES.get(exception.status, "Not accepted")
        response = render(
            request, "error.html", {"title": title, "message": exception.message}, status=exception.status
        )
        for name, value in exception.headers.items():
            response[name] = value
        return response
