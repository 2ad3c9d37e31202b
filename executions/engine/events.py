"""Live events of executions, published to the channel group that WebSocket watchers join.

Dispatchers run in threads without an event loop, so events go through one ordered queue
drained by a task on an event loop: the web server's own loop when a watcher is connected
in this process (the in-memory channel layer only reaches consumers on that loop), else,
with Redis, a private loop thread (so executor processes reach every web process).
Without Redis and without watchers in this process nobody can be listening: events are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading

from channels.layers import get_channel_layer
from django.conf import settings

log = logging.getLogger(__name__)


def group_name(execution_id: str) -> str:
    return f"execution.{execution_id}"


class Publisher:
    def __init__(self):
        self._messages: queue.SimpleQueue[tuple[str, dict]] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._lock = threading.Lock()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver through ``loop`` (called from that loop, by the first watcher to connect,
        and again by a watcher on a new loop once the old one has closed)."""
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                self._start_on(loop)

    def publish(self, execution_id: str, message: dict) -> None:
        """Never raises: a lost event costs watchers a resync, a raised one would cost the run."""
        loop = self._usable_loop()
        if loop is None:
            return
        self._messages.put((group_name(execution_id), message))
        try:
            loop.call_soon_threadsafe(self._wake.set)
        except RuntimeError:  # the loop closed after the check above
            log.warning("the event loop for live events has closed; events are dropped until a watcher reconnects")

    def _usable_loop(self) -> asyncio.AbstractEventLoop | None:
        loop = self._loop
        if loop is not None and loop.is_closed():
            with self._lock:
                if self._loop is loop:
                    self._loop = None
            loop = None
        return loop or self._private_loop()

    def _private_loop(self) -> asyncio.AbstractEventLoop | None:
        if not settings.REDIS_URL:
            return None
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="events", daemon=True).start()
                asyncio.run_coroutine_threadsafe(self._started(loop), loop).result(timeout=10)
        return self._loop

    async def _started(self, loop: asyncio.AbstractEventLoop) -> None:
        self._start_on(loop)

    def _start_on(self, loop: asyncio.AbstractEventLoop) -> None:
        self._wake = asyncio.Event()
        self._loop = loop
        loop.call_soon_threadsafe(lambda: loop.create_task(self._drain()))

    async def _drain(self) -> None:
        layer = get_channel_layer()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while not self._messages.empty():
                group, message = self._messages.get_nowait()
                try:
                    await layer.group_send(group, message)
                except Exception:  # one lost event is recovered by the watcher's resync
                    log.warning("publishing an execution event failed", exc_info=True)


publisher = Publisher()


def output(execution_id: str, *, seq: int, stream: str, text: str) -> None:
    publisher.publish(execution_id, {"type": "execution.output", "seq": seq, "stream": stream, "text": text})


def status(execution_id: str, *, status: str, **facts) -> None:
    """A new status, or news of a running one (``waiting_for_input`` of an interactive run)."""
    publisher.publish(execution_id, {"type": "execution.status", "status": status, **facts})


def persisted(execution_id: str, *, seq: int) -> None:
    """Output up to ``seq`` is stored: a watcher that joined after some of it was published
    (and so saw neither the event nor, in its snapshot, the text) catches up from the store."""
    publisher.publish(execution_id, {"type": "execution.persisted", "seq": seq})


def finished(execution_id: str) -> None:
    publisher.publish(execution_id, {"type": "execution.finished"})
