"""How API callers authenticate, in order: a JWT from allauth's headless JWT token strategy,
the browser's signed-in session (with CSRF), or nobody at all.

Operations use :data:`api_auth`; ``request.auth`` is then the user, or an ``AnonymousUser``.
A request that presents a token which does not check out (expired, revoked, its user banned)
is refused with 401 rather than served as anonymous, so a client notices at once.
"""

from allauth.headless.contrib.ninja.security import JWTTokenAuth
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from ninja.security import SessionAuth

TOKEN_REJECTED = (
    "The access token was not accepted: it is malformed, expired or revoked, or its user can no longer "
    "sign in. Get a new one (refresh it, or sign in again)."
)


class JWTAuth(JWTTokenAuth):
    """allauth's check of the access token (signature, expiry, and — with stateful
    validation — that its session still exists); the caller is the token's active user."""

    openapi_type = "http"
    openapi_scheme = "bearer"
    openapi_bearerFormat = "JWT"

    def __call__(self, request: HttpRequest):
        if not super().__call__(request):
            return None
        user = request.user
        return user if user.is_active else None


class SignedInSessionAuth(SessionAuth):
    """A signed-in browser session, which must carry the CSRF token on writes. ninja's
    ``SessionAuth`` checks CSRF before looking at the user; an anonymous visitor's cookie
    grants nothing, so only signed-in sessions are held to it."""

    def __call__(self, request: HttpRequest):
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)


def anonymous_auth(request: HttpRequest):
    """Nobody: allowed unless the request tried to authenticate with a token."""
    if request.headers.get("Authorization"):
        return None
    return AnonymousUser()


jwt_auth = JWTAuth()
session_auth = SignedInSessionAuth()
api_auth = [jwt_auth, session_auth, anonymous_auth]


def caller(request: HttpRequest):
    """The authenticated user, or None for anonymous callers."""
    user = getattr(request, "auth", None)
    return user if getattr(user, "is_authenticated", False) else None
