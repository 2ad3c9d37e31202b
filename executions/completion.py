"""Wait for an execution to finish without blocking a thread: in-process notifications from
the dispatcher, with a database poll for executions run by another process."""

import asyncio
import threading
import time
from collections import defaultdict

from asgiref.sync import sync_to_async

from executions.documents import Execution, Status

POLL_MIN_SECONDS = 0.05
POLL_MAX_SECONDS = 0.5

_lock = threading.Lock()
_waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Future]]] = defaultdict(list)


def notify_finished(execution_id: str) -> None:
    with _lock:
        waiters = _waiters.pop(execution_id, [])
    for loop, future in waiters:
        loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def _is_final(execution_id: str) -> bool:
    return Execution.objects(execution_id=execution_id, status__in=Status.FINAL).count() > 0


async def wait_finished(execution_id: str, *, timeout: float) -> bool:
    """True when the execution reached a final status within ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    poll = POLL_MIN_SECONDS
    while True:
        future = loop.create_future()
        with _lock:
            _waiters[execution_id].append((loop, future))
        try:
            if await sync_to_async(_is_final, thread_sensitive=False)(execution_id):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(future, min(poll, remaining))
            except TimeoutError:
                poll = min(poll * 2, POLL_MAX_SECONDS)
        finally:
            _forget(execution_id, future)


def _forget(execution_id: str, future: asyncio.Future) -> None:
    with _lock:
        waiters = _waiters.get(execution_id)
        if waiters:
            waiters[:] = [w for w in waiters if w[1] is not future]
            if not waiters:
                del _waiters[execution_id]
