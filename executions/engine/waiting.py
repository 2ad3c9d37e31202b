"""Wait for an execution to finish without blocking a thread: in-process notifications from
the dispatcher (carrying the stored final state, so a waiter need not read it back), with a
database poll for executions run by another process."""

import asyncio
import threading
import time
from collections import OrderedDict, defaultdict

from executions.documents import Execution, Status
from integr8scode.threads import in_thread

# Extra time a waiting client allows beyond the script's wall limit, for start-up and storage.
WAIT_SLACK_SECONDS = 2.0
POLL_MIN_SECONDS = 0.05
POLL_MAX_SECONDS = 0.5
RECENT_LIMIT = 4096
# The final states themselves, for a waiter that registers only after the run has finished
# (common under load): the latest few, and only small ones, so memory stays bounded.
RECENT_FINALS_LIMIT = 256
RECENT_FINAL_MAX_CHARS = 64 * 1024

_lock = threading.Lock()
_waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Future]]] = defaultdict(list)
# Executions this process's dispatcher finished lately, with the CPU time stored for them
# (None when it is not known here): a waiter that registers after the notification, and the
# quota check charging CPU time, know without asking the database.
_recently_finished: OrderedDict[str, int | None] = OrderedDict()
_recent_finals: OrderedDict[str, Execution] = OrderedDict()
_dispatcher_here = False


def notify_finished(execution_id: str, *, final: Execution | None = None) -> None:
    """``final``: the execution as stored when it finished, handed to the current waiters."""
    with _lock:
        waiters = _waiters.pop(execution_id, [])
        _recently_finished[execution_id] = (final.cpu_ms or 0) if final is not None else None
        if len(_recently_finished) > RECENT_LIMIT:
            _recently_finished.popitem(last=False)
        if final is not None and _size(final) <= RECENT_FINAL_MAX_CHARS:
            _recent_finals[execution_id] = final
            if len(_recent_finals) > RECENT_FINALS_LIMIT:
                _recent_finals.popitem(last=False)
    for loop, future in waiters:
        loop.call_soon_threadsafe(_resolve, future, final)


def _size(execution: Execution) -> int:
    return sum(len(text or "") for text in (execution.script, execution.stdin, execution.output, execution.errors))


def cpu_ms_of_finished(execution_ids: list[str]) -> dict[str, int]:
    """The stored CPU time of those executions that this process's dispatcher finished lately."""
    with _lock:
        known = {i: _recently_finished.get(i) for i in execution_ids}
    return {i: cpu_ms for i, cpu_ms in known.items() if cpu_ms is not None}


def _resolve(future: asyncio.Future, final: Execution | None) -> None:
    if not future.done():
        future.set_result(final)


def _is_final(execution_id: str) -> bool:
    # A lookup by _id (not a count, which the embedded store answers by aggregation).
    found = Execution._get_collection().find_one({"_id": execution_id}, {"status": 1})
    return bool(found) and found["status"] in Status.FINAL


def dispatcher_here(running: bool) -> None:
    """Told by the dispatcher of this process when it starts and stops."""
    global _dispatcher_here
    _dispatcher_here = running


def _first_poll() -> float:
    """With a dispatcher in this process its notification is what ends the wait; the database
    is only a fallback (for runs of other processes), so it need not be asked often."""
    return POLL_MAX_SECONDS if _dispatcher_here else POLL_MIN_SECONDS


def _register(execution_id: str, future: asyncio.Future) -> Execution | bool:
    """Wait for a notification; the stored final state, or True, when the execution is
    already known to be finished."""
    with _lock:
        if execution_id in _recently_finished:
            final = _recent_finals.get(execution_id)
            return True if final is None else final
        _waiters[execution_id].append((future.get_loop(), future))
        return False


async def execution_wait_result(execution: Execution) -> Execution:
    """The execution as stored once it has finished, or as it stands when its wall limit
    (plus slack) has passed."""
    timeout = execution.limits["wall_seconds"] + WAIT_SLACK_SECONDS
    final = await _wait_finished(execution.execution_id, timeout=timeout)
    if isinstance(final, Execution):
        return final
    await in_thread(execution.reload)()
    return execution


async def _wait_finished(execution_id: str, *, timeout: float) -> Execution | bool:
    """Whether the execution reached a final status within ``timeout`` seconds: the stored
    final state when this process's dispatcher handed it over, else True or False."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    poll = _first_poll()
    while True:
        future = loop.create_future()
        known = _register(execution_id, future)
        if known is not False:
            return known
        try:
            try:
                return await asyncio.wait_for(future, min(poll, max(0.0, deadline - time.monotonic()))) or True
            except TimeoutError:
                poll = min(poll * 2, POLL_MAX_SECONDS)
            # Finished by another process, or the notification was missed: ask the database.
            if await in_thread(_is_final)(execution_id):
                return True
            if time.monotonic() >= deadline:
                return False
        finally:
            _forget(execution_id, future)


def _forget(execution_id: str, future: asyncio.Future) -> None:
    with _lock:
        waiters = _waiters.get(execution_id)
        if waiters:
            waiters[:] = [w for w in waiters if w[1] is not future]
            if not waiters:
                del _waiters[execution_id]
