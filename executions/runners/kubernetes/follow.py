"""Following one sandbox pod: its state through the runner's shared watch, its log line by line.

The log survives a dropped connection: it is re-read from its start and the lines already
handled are skipped, so a reconnect neither loses nor repeats output: the entry's records are
whole lines. (The shared watch resumes by itself: ``informer``.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from kubernetes.client.exceptions import ApiException

from executions.runners.kubernetes.client import KubeApi, interrupt, is_not_found
from executions.runners.kubernetes.informer import PodInformer
from executions.sandbox.protocol import MAX_LINE_BYTES


class PodWatch:
    """The last known state of one pod, as the runner's shared watch (``PodInformer``) sees it."""

    def __init__(self, informer: PodInformer, api: KubeApi, pod: dict):
        self.informer, self.api = informer, api
        self.name = pod["metadata"]["name"]
        self._last = pod
        self._stopped = False
        self.view: Callable[[dict], dict] = lambda pod: pod  # how the runner wants to see it
        informer.observe(pod)

    @property
    def pod(self) -> dict:
        current, _ = self.informer.get(self.name)
        if current is not None:
            self._last = current
        return self.view(self._last)

    @property
    def gone(self) -> bool:
        return self.informer.get(self.name)[1]

    def until(self, done: Callable[[dict], bool], *, deadline: float) -> dict:
        """Follow the pod until ``done(pod)``, it is deleted, :meth:`stop` or the deadline."""
        self.informer.wait(lambda: self._stopped or self.gone or done(self.pod), deadline=deadline)
        return self.pod

    def stop(self) -> None:
        self._stopped = True
        self.informer.notify()

    def refresh(self) -> dict:
        """Read the pod itself (when the watch may be behind, or the node is in doubt)."""
        try:
            self.informer.observe(self.api.read_pod(self.name))
        except ApiException as exc:
            if not is_not_found(exc):
                raise
            self.informer.vanished(self.name)
        return self.pod


class LogLines:
    """Passes a log on in whole lines and remembers how many, to resume after a reconnect."""

    def __init__(self, consume: Callable[[bytes], None]):
        self.consume = consume
        self.lines = 0
        self._skip = 0
        self._partial = bytearray()

    def restart(self) -> None:
        """The log is about to be read again from its start."""
        self._partial.clear()
        self._skip = self.lines

    def feed(self, data: bytes) -> None:
        self._partial += data
        start = 0
        while (end := self._partial.find(b"\n", start)) >= 0:
            self._line(bytes(self._partial[start : end + 1]))
            start = end + 1
        del self._partial[:start]
        if len(self._partial) > MAX_LINE_BYTES:  # never a record: let the decoder count it as garbage
            self._line(bytes(self._partial))
            self._partial.clear()

    def finish(self) -> None:
        if self._partial:
            self.consume(bytes(self._partial))
            self._partial.clear()

    def _line(self, line: bytes) -> None:
        if self._skip:
            self._skip -= 1
            return
        self.lines += 1
        self.consume(line)


class LogStream:
    """One open, followed log response that another thread may cut short."""

    READ_BYTES = 64 * 1024

    def __init__(self, api: KubeApi, name: str, container: str, *, idle_timeout: float | None = None):
        self.response = api.follow_log(name, container, idle_timeout=idle_timeout)

    def chunks(self):
        try:
            yield from self.response.stream(self.READ_BYTES, decode_content=False)
        finally:
            self.close()

    def interrupt(self) -> None:
        interrupt(self.response)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.response.release_conn()
        with contextlib.suppress(Exception):
            self.response.close()
