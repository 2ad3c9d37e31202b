"""The one NinjaAPI: the seed's endpoints at the root, the versioned API under /api/v1."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from accounts.auth import TOKEN_REJECTED
from executions.api import router as executions_router
from executions.api import seed_router
from executions.errors import AppError
from integr8scode import strict_json
from scripts.api import router as scripts_router

BODY_TOO_LARGE = "The request body is larger than this server accepts."
MALFORMED_JSON = "The request body is not valid JSON."
NOT_JSON_MEDIA_TYPE = "Send the request body as JSON, with Content-Type: application/json."


class NotJSONMediaType(Exception):
    pass


class JSONBodyParser(Parser):
    """Bodies must say they are JSON (so no page elsewhere can post one without asking first),
    and be JSON: no NaN or Infinity."""

    def parse_body(self, request: HttpRequest):
        if not strict_json.is_json_media_type(request.content_type or ""):
            raise NotJSONMediaType()
        return strict_json.loads(request.body)


class API(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        schema = super().get_openapi_schema(**kwargs)
        # Every operation takes anonymous callers too (accounts.auth.anonymous_auth), which ninja
        # leaves out: it documents only the ways in that have an OpenAPI security scheme.
        for operations in schema["paths"].values():
            for operation in operations.values():
                operation.setdefault("security", []).append({})
        return schema


api = API(
    title="Integr8sCode API",
    version="1",
    description="Run Python scripts in isolated sandboxes with hard limits.",
    docs_url="/api/docs",
    openapi_url="/api/openapi.json",
    urls_namespace="api",
    parser=JSONBodyParser(),
)
api.add_router("", seed_router)
api.add_router("/api/v1", executions_router)
api.add_router("/api/v1", scripts_router)


def _error(request: HttpRequest, status: int, detail):
    return api.create_response(request, {"detail": detail}, status=status)


@api.exception_handler(AppError)
def refused(request, exc: AppError):
    """Every refusal of the project's own code (executions.errors)."""
    response = _error(request, exc.status, exc.message)
    for name, value in exc.headers.items():
        response[name] = value
    return response


@api.exception_handler(AuthenticationError)
def authentication_failed(request, exc: AuthenticationError):
    # Only a presented token that fails gets here: callers without one are anonymous.
    return _error(request, 401, TOKEN_REJECTED)


@api.exception_handler(RequestDataTooBig)
def body_too_large(request, exc):
    return _error(request, 413, BODY_TOO_LARGE)


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    # ninja reports a body the parser refused as a 400 caused by the parser's exception.
    if exc.status_code == 400 and isinstance(exc.__cause__, NotJSONMediaType):
        return _error(request, 415, NOT_JSON_MEDIA_TYPE)
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        return _error(request, 400, MALFORMED_JSON)
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    return _error(request, 422, exc.errors)
