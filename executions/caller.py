"""Who is asking: built once per request or WebSocket, then passed to the services.

A caller is a signed-in user, or an anonymous client known by its address. From that follow
the owner of what it submits, the caps it may ask for, the subject its quotas are counted
for and the scope of its idempotency keys; no entry point rebuilds any of them, so none can
leave one out. Work the server does for itself (a management command, a test) says so with
:meth:`Caller.internal`: it is not metered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest

from executions import quotas
from executions.limits import FileCaps, Limits, input_file_caps, output_file_caps

# A request whose peer address the server does not know (a Unix socket without proxy headers):
# still someone from outside, metered with everyone else it cannot tell apart.
UNKNOWN_ADDRESS = "unknown"


@dataclass(frozen=True)
class Caller:
    owner_id: int | None  # the signed-in user's id; None for anonymous callers
    address: str | None  # the client's address; None only for internal work
    user: object | None = field(default=None, compare=False)  # the user, where one is signed in

    @classmethod
    def of_request(cls, request: HttpRequest) -> Caller:
        """The API's authenticated caller (``request.auth``) or the page's signed-in user."""
        user = getattr(request, "auth", None) or getattr(request, "user", None)
        return cls._of(user, quotas.client_ip(request) or UNKNOWN_ADDRESS)

    @classmethod
    def of_scope(cls, scope: dict) -> Caller:
        """A WebSocket's: the user the handshake authenticated, and the peer's address."""
        return cls._of(scope.get("user"), (scope.get("client") or [None])[0] or UNKNOWN_ADDRESS)

    @classmethod
    def internal(cls, user=None) -> Caller:
        """The server's own work (management commands, tests): owned by ``user`` if given, not
        metered by any quota."""
        return cls._of(user, None)

    @classmethod
    def _of(cls, user, address: str | None) -> Caller:
        if not getattr(user, "is_authenticated", False):
            user = None
        return cls(owner_id=getattr(user, "pk", None), address=address or None, user=user)

    @property
    def is_anonymous(self) -> bool:
        return self.owner_id is None

    @property
    def is_internal(self) -> bool:
        return self.address is None

    @property
    def signed_in(self) -> bool:
        """Whether it gets signed-in users' caps (internal work does too)."""
        return not self.is_anonymous or self.is_internal

    @property
    def caps(self) -> Limits:
        """The most it may ask for in the default runtime: anonymous callers have lower caps."""
        return quotas.caps_for(signed_in=self.signed_in)

    def caps_in(self, runtime: str, *, interactive: bool = False) -> Limits:
        """The most it may ask for in ``runtime`` (some runtimes need more than a hello), in an
        interactive run or not."""
        return quotas.caps_for(signed_in=self.signed_in, runtime=runtime, interactive=interactive)

    @property
    def input_file_caps(self) -> dict[str, int]:
        return input_file_caps(signed_in=self.signed_in)

    @property
    def output_file_caps(self) -> FileCaps:
        return output_file_caps(signed_in=self.signed_in)

    @property
    def quota_subject(self) -> quotas.Subject | None:
        """Whom its submissions count against: the user, else the address; None: not metered."""
        return quotas.subject_for(owner_id=self.owner_id, client_ip=self.address)
