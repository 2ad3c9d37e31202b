"""The one kind of refusal the project's own code raises, and the statuses it comes in.

A service, selector or quota that refuses raises an :class:`AppError` (or one of the kinds
below, which fix its HTTP status): it carries the status, a message meant for people, and any
headers and extra fields the answer needs. Each way in maps it once: the API to a JSON
``{"detail": ...}`` answer (integr8scode/api.py), the WebSocket consumers to an error message
and a close code of 4000 + the status (executions/consumers.py), the pages to an error page
(integr8scode/middleware.py) — unless a page shows the message in place.
"""

from __future__ import annotations


class AppError(Exception):
    status = 400

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status or type(self).status
        self.headers = headers or {}
        self.extra = extra or {}  # more fields of a WebSocket's error message (HTTP has headers)


class Invalid(AppError):
    status = 422


class SignInRequired(AppError):
    status = 401


class Forbidden(AppError):
    status = 403


class NotFound(AppError):
    status = 404


class Conflict(AppError):
    status = 409


class TooManyRequests(AppError):
    status = 429
