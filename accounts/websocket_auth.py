"""Who is at the other end of a WebSocket.

A browser is known by its session cookie, which any page the visitor opens would send too,
so its Origin must be this site (Channels' origin check). An API client is known by its
access token, ``Authorization: Bearer <token>``, exactly as on the HTTP API; no page can
send that on a visitor's behalf, so its Origin does not matter. A token that does not check
out refuses the handshake, rather than letting the client in as anonymous.
"""

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.http import HttpRequest

from accounts.auth import jwt_auth


class TokenOrSession:
    """ASGI middleware for WebSockets in front of ``inner`` (the URL router)."""

    def __init__(self, inner):
        self.inner = inner
        self.by_session = AllowedHostsOriginValidator(AuthMiddlewareStack(inner))

    async def __call__(self, scope, receive, send):
        authorization = _authorization(scope)
        if authorization is None:
            return await self.by_session(scope, receive, send)
        user = await database_sync_to_async(_token_user)(authorization)
        if user is None:
            await receive()  # the handshake; closing before accepting it refuses it (HTTP 403)
            await send({"type": "websocket.close"})
            return None
        return await self.inner(dict(scope, user=user), receive, send)


def _authorization(scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return value.decode("latin-1")
    return None


def _token_user(authorization: str):
    """The token's active user, checked by the same allauth code as the HTTP API; or None."""
    request = HttpRequest()
    request.META["HTTP_AUTHORIZATION"] = authorization
    return jwt_auth(request)
