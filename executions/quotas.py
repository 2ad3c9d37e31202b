"""Quotas on submissions: per minute, at once, and CPU-seconds per day; for anonymous callers
per IP address, for signed-in users per user (admins may override them per user).

Counters live in Django's cache (Redis when ``REDIS_URL`` is set, so every web process shares
them). Concurrency and CPU use come from the executions themselves: the ids a subject has in
flight are kept in the cache and settled against MongoDB at its next submission — finished
ones are dropped and their CPU time charged to the day — so no worker has to report back,
and a crashed one cannot leave anybody blocked. What this process knows itself (runs its
dispatcher holds or finished) is not read back, and the rest at most once a second unless
the verdict could depend on it.
"""

from __future__ import annotations

import ipaddress
import math
import secrets
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache

from executions import engine, errors, metrics
from executions.documents import Execution, Status
from executions.limits import Limits, anonymous_limit_caps, interactive_caps, limit_caps, most_cpu_seconds

RATE_EXCEEDED = "Too many submissions: at most {limit} per minute. Try again in {retry_after} s."
CONCURRENCY_EXCEEDED = (
    "Too many executions at once: at most {limit} may be queued or running. Try again when one has finished."
)
INTERACTIVE_EXCEEDED = (
    "Too many interactive sessions at once: at most {limit} may be open. End one (Ctrl+D, or cancel it) "
    "or run without interactive input."
)
INTERACTIVE_FULL = (
    "The server has as many interactive sessions open as it allows ({limit}). Try again in a while, "
    "or run without interactive input."
)
CPU_EXCEEDED = "Daily CPU time used up: {limit} CPU-seconds per day. It renews at midnight UTC, in {retry_after} s."

ANONYMOUS = "anonymous"
USER = "user"
DAY_SECONDS = 24 * 3600
# How long a submission waits for another one of the same subject to finish its check.
LOCK_WAIT_SECONDS = 2.0
LOCK_TTL_SECONDS = 10
# Executions this process cannot tell about (queued in the store, run by another process) are
# read back at least this often, and at every submission whose verdict could depend on them.
SETTLE_INTERVAL_SECONDS = 1.0
_OPEN = [Status.QUEUED, Status.RUNNING]


@dataclass(frozen=True)
class Quota:
    submissions_per_minute: int
    concurrent_executions: int
    cpu_seconds_per_day: int
    interactive_sessions: int = 0


QUOTA_OFF = Quota(submissions_per_minute=0, concurrent_executions=0, cpu_seconds_per_day=0)


@dataclass(frozen=True)
class Subject:
    """Who a quota is counted for: a user, or an anonymous caller's address."""

    key: str
    kind: str
    owner_id: int | None = None


# Whose lock guards the server's total of interactive sessions.
INTERACTIVE_TOTAL = Subject(key="interactive-total", kind="server")


class QuotaExceeded(errors.TooManyRequests):
    """A submission refused by a quota: 429, with when to try again in its headers (and, for the
    WebSocket, in its body)."""

    def __init__(self, message: str, *, resource: str, limit: int, retry_after: int):
        self.resource, self.limit, self.retry_after = resource, limit, max(1, retry_after)
        headers = {
            "Retry-After": str(self.retry_after),
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(self.retry_after),
            "X-RateLimit-Resource": resource,
        }
        super().__init__(message, headers=headers, extra={"retry_after": self.retry_after})


# --- who, and how much -----------------------------------------------------------------


def client_ip(request) -> str | None:
    """The caller's address as the server saw it (Daphne's ``--proxy-headers`` puts the
    forwarded client there when behind a proxy)."""
    return request.META.get("REMOTE_ADDR") or None


def subject_for(*, owner_id: int | None, client_ip: str | None) -> Subject | None:
    """Whom a request's submission counts against: its user, else its address. Without a
    client address the submission is internal (a test, a management command) and not metered
    (see executions.caller: a request's caller always has one)."""
    if not client_ip:
        return None
    if owner_id is not None:
        return Subject(key=f"user:{owner_id}", kind=USER, owner_id=owner_id)
    return Subject(key=f"ip:{address_block(client_ip)}", kind=ANONYMOUS)


def address_block(address: str) -> str:
    """What counts as one anonymous caller: the address, or its /64 for IPv6 (one host usually
    holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def quota_for(subject: Subject) -> Quota:
    values = dict(settings.QUOTAS[subject.kind])
    if subject.kind == USER:
        from accounts.selectors import quota_overrides_for

        values.update(quota_overrides_for(user_id=subject.owner_id))
    return Quota(**values)


def caps_for(*, signed_in: bool, runtime: str | None = None, interactive: bool = False) -> Limits:
    """The limits a caller may ask for at most in ``runtime``: anonymous callers get lower ones."""
    caps = limit_caps(runtime) if signed_in else anonymous_limit_caps(runtime)
    return interactive_caps(caps, signed_in=signed_in) if interactive else caps


# --- admission -------------------------------------------------------------------------


@contextmanager
def quota_admit(*, subject: Subject | None, interactive: bool = False):
    """Check every quota of ``subject`` (None: not metered) for one submission, or raise
    :class:`QuotaExceeded`. Yields a function to call with the execution once it is stored;
    only then does it count. An interactive session is also held to the server's total."""
    # The server's count of sessions is checked and the new one stored under one lock, so
    # that callers of different subjects cannot all pass the check at once.
    with _locked(INTERACTIVE_TOTAL) if interactive else nullcontext():
        if interactive:
            _check_interactive_total(subject)
        quota = quota_for(subject) if subject else None
        if quota is None or quota == QUOTA_OFF:
            yield lambda execution: None
            return
        with _locked(subject):
            in_flight = _settle(subject, quota)
            try:
                _check_rate(subject, quota)
                _check_concurrency(quota, in_flight)
                if interactive:
                    _check_interactive(quota, in_flight)
                _check_cpu(subject, quota)
            except QuotaExceeded as refused:
                metrics.rate_limit_refusals.labels(subject.kind, refused.resource).inc()
                raise
            yield lambda execution: _count(subject, in_flight, execution)


def _check_rate(subject: Subject, quota: Quota) -> None:
    limit = quota.submissions_per_minute
    if limit and (cache.get(_rate_key(subject)) or 0) >= limit:
        retry_after = 60 - int(time.time()) % 60
        raise QuotaExceeded(
            RATE_EXCEEDED.format(limit=limit, retry_after=retry_after),
            resource="submissions",
            limit=limit,
            retry_after=retry_after,
        )


def _check_concurrency(quota: Quota, in_flight: list[str]) -> None:
    limit = quota.concurrent_executions
    if limit and len(in_flight) >= limit:
        # The soonest any of them can end is the shortest wall limit among them.
        limits = Execution.objects(execution_id__in=in_flight).only("limits")
        retry_after = math.ceil(min((e.limits["wall_seconds"] for e in limits), default=1))
        raise QuotaExceeded(
            CONCURRENCY_EXCEEDED.format(limit=limit), resource="concurrency", limit=limit, retry_after=retry_after
        )


def _check_interactive(quota: Quota, in_flight: list[str]) -> None:
    limit = quota.interactive_sessions
    if limit and _interactive_open(in_flight) >= limit:
        raise QuotaExceeded(
            INTERACTIVE_EXCEEDED.format(limit=limit),
            resource="interactive",
            limit=limit,
            retry_after=math.ceil(settings.INTERACTIVE_IDLE_SECONDS),
        )


def _interactive_open(in_flight: list[str]) -> int:
    """Of the executions counted in flight, the interactive ones still open (read back: what
    _settle may still count in flight has perhaps finished)."""
    return Execution.objects(execution_id__in=in_flight, interactive=True, status__in=_OPEN).count()


def _check_interactive_total(subject: Subject | None) -> None:
    """The server's bound on open sessions: each holds a thread, a sandbox and its memory."""
    limit = settings.INTERACTIVE_SESSIONS_MAX
    open_now = Execution.objects(status__in=_OPEN, interactive=True).count()
    if open_now >= limit:
        metrics.rate_limit_refusals.labels(subject.kind if subject else "internal", "interactive_total").inc()
        raise QuotaExceeded(
            INTERACTIVE_FULL.format(limit=limit),
            resource="interactive_total",
            limit=limit,
            retry_after=math.ceil(settings.INTERACTIVE_IDLE_SECONDS),
        )


def _check_cpu(subject: Subject, quota: Quota) -> None:
    limit = quota.cpu_seconds_per_day
    if limit and cpu_ms_today(subject) >= limit * 1000:
        retry_after = _seconds_to_midnight()
        raise QuotaExceeded(
            CPU_EXCEEDED.format(limit=limit, retry_after=retry_after),
            resource="cpu",
            limit=limit,
            retry_after=retry_after,
        )


def _count(subject: Subject, in_flight: list[str], execution: Execution) -> None:
    _increment(_rate_key(subject), 1, timeout=120)
    cache.set(_in_flight_key(subject), [*in_flight, execution.execution_id], timeout=DAY_SECONDS)


# --- usage -----------------------------------------------------------------------------


def quota_usage(*, subject: Subject | None) -> dict | None:
    """Each quota next to what the subject has used of it (for the account page)."""
    if subject is None:
        return None
    with _locked(subject):
        in_flight = _settle(subject)
    quota = quota_for(subject)
    return {
        "submissions_per_minute": (cache.get(_rate_key(subject)) or 0, quota.submissions_per_minute),
        "concurrent_executions": (len(in_flight), quota.concurrent_executions),
        "cpu_seconds_per_day": (round(cpu_ms_today(subject) / 1000, 1), quota.cpu_seconds_per_day),
        "interactive_sessions": (_interactive_open(in_flight), quota.interactive_sessions),
    }


def cpu_ms_today(subject: Subject) -> int:
    return cache.get(_cpu_key(subject)) or 0


def _settle(subject: Subject, quota: Quota | None = None) -> list[str]:
    """The ids of the subject's executions still queued or running; charge the CPU time of
    those that have finished since the last look. Only what this process cannot tell (runs of
    other processes, the queue collection's) is read from the database, and with ``quota``
    only when :func:`_must_read` says so: until then those count as in flight, and their CPU
    time is charged at the next read."""
    ids = cache.get(_in_flight_key(subject)) or []
    if not ids:
        return []
    finished_here = engine.cpu_ms_of_finished(ids)  # no need to read those back
    pending_here = engine.pending_here([i for i in ids if i not in finished_here])
    unknown = [i for i in ids if i not in finished_here and i not in pending_here]
    spent = sum(finished_here.values())
    still = set(pending_here)
    if unknown and (
        quota is None
        or _must_read(subject, quota, in_flight=len(ids) - len(finished_here), unknown=len(unknown), charged=spent)
    ):
        known = list(Execution.objects(execution_id__in=unknown).only("execution_id", "status", "cpu_ms"))
        cache.set(_settled_key(subject), time.time(), timeout=DAY_SECONDS)
        spent += sum(e.cpu_ms or 0 for e in known if e.is_final)
        still |= {e.execution_id for e in known if not e.is_final}
    else:
        still |= set(unknown)
    if spent:
        _increment(_cpu_key(subject), spent, timeout=2 * DAY_SECONDS)
    in_flight = [i for i in ids if i in still]
    cache.set(_in_flight_key(subject), in_flight, timeout=DAY_SECONDS)
    return in_flight


def _must_read(subject: Subject, quota: Quota, *, in_flight: int, unknown: int, charged: int) -> bool:
    """Whether the executions this process cannot tell about must be read now: when counting
    them all as in flight, or charging each its CPU cap, would refuse the submission, or when
    they were last read too long ago."""
    if quota.concurrent_executions and in_flight >= quota.concurrent_executions:
        return True
    most_cpu_ms = cpu_ms_today(subject) + charged + unknown * most_cpu_seconds() * 1000
    if quota.cpu_seconds_per_day and most_cpu_ms >= quota.cpu_seconds_per_day * 1000:
        return True
    settled = cache.get(_settled_key(subject))
    return settled is None or time.time() - settled >= SETTLE_INTERVAL_SECONDS


# --- cache plumbing --------------------------------------------------------------------


def _rate_key(subject: Subject) -> str:
    return f"quota:rate:{subject.key}:{int(time.time()) // 60}"


def _in_flight_key(subject: Subject) -> str:
    return f"quota:in-flight:{subject.key}"


def _settled_key(subject: Subject) -> str:
    return f"quota:settled:{subject.key}"


def _cpu_key(subject: Subject) -> str:
    return f"quota:cpu:{subject.key}:{datetime.now(UTC).date().isoformat()}"


def _seconds_to_midnight() -> int:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return math.ceil((midnight - now).total_seconds())


def _increment(key: str, delta: int, *, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key, delta)
    except ValueError:  # expired between add and incr
        cache.set(key, delta, timeout=timeout)
        return delta


@contextmanager
def _locked(subject: Subject):
    """Serialise the checks of one subject: within this process on a lock (so its requests
    queue up instead of polling), across processes in the cache (``add`` is atomic). If the
    lock is not free in time the check goes ahead anyway: a quota is a fairness guard, and
    refusing because another request is slow would be worse than a rare overshoot by one."""
    key, token = f"quota:lock:{subject.key}", secrets.token_hex(8)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    local = _LOCAL_LOCKS[hash(key) % len(_LOCAL_LOCKS)]
    held_here = local.acquire(timeout=LOCK_WAIT_SECONDS)
    try:
        while not cache.add(key, token, timeout=LOCK_TTL_SECONDS) and time.monotonic() < deadline:
            time.sleep(0.005)
        try:
            yield
        finally:
            if cache.get(key) == token:
                cache.delete(key)
    finally:
        if held_here:
            local.release()


# Striped: subjects are unbounded, and two sharing a stripe only wait for each other briefly.
_LOCAL_LOCKS = [threading.Lock() for _ in range(64)]
