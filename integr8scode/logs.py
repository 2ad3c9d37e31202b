"""Logging: readable text by default, one JSON object per line with ``LOG_FORMAT=json``.

Records carry the request id of the HTTP request they belong to (``X-Request-ID``, kept
from the client when it is sane, else generated), and ``execution_id``/``user_id`` when the
code logging them passes them in ``extra``. Script output is never logged.
"""

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
CONTEXT_FIELDS = ("request_id", "execution_id", "user_id")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES and v is not None})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if getattr(record, k, None))
        return f"{line} [{context}]" if context else line


def logging_config(*, log_format: str, level: str) -> dict:
    formatter = (
        {"()": JsonFormatter}
        if log_format == "json"
        else {"()": TextFormatter, "format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"default": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "default", "filters": ["context"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.channels.server": {"level": "WARNING"},
            "httpx": {"level": "WARNING"},
            # Daphne and Twisted log through their own handlers; route them through ours once.
            "daphne": {"level": "WARNING"},
        },
    }


def request_id_middleware(get_response):
    """Tag everything logged during a request with its id, and echo the id in the response."""
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction

    def begin(request) -> contextvars.Token:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        return request_id_var.set(incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex)

    def end(response, token):
        response[REQUEST_ID_HEADER] = request_id_var.get()
        request_id_var.reset(token)
        return response

    if iscoroutinefunction(get_response):

        async def middleware(request):
            token = begin(request)
            return end(await get_response(request), token)

        markcoroutinefunction(middleware)
    else:

        def middleware(request):
            token = begin(request)
            return end(get_response(request), token)

    return middleware


request_id_middleware.sync_capable = True
request_id_middleware.async_capable = True
