"""Following one sandbox pod: its state through a watch, its log line by line.

Both survive a dropped connection. The watch resumes from the last resourceVersion it saw
(or from a fresh read when the API server has forgotten it: 410 Gone). The log is re-read
from its start and the lines already handled are skipped, so a reconnect neither loses
nor repeats output: the entry's records are whole lines.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable

from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from executions.runners.kubernetes.client import KubeApi, describe, interrupt, is_not_found, is_retryable
from executions.sandbox.protocol import MAX_LINE_BYTES

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
READ_SLACK = 10.0  # a watch's reads may block this much longer than its server-side timeout


class PodWatch:
    """The last known state of one pod, kept current by watch events."""

    def __init__(self, api: KubeApi, pod: dict):
        self.api = api
        self.name = pod["metadata"]["name"]
        self.pod = pod
        self.gone = False
        self._stopped = False
        self._failures = 0
        self._watch: watch.Watch | None = None
        self._lock = threading.Lock()

    def until(self, done: Callable[[dict], bool], *, deadline: float) -> dict:
        """Follow the pod until ``done(pod)``, it is deleted, :meth:`stop` or the deadline."""
        while not (done(self.pod) or self.gone or self._stopped):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._watch_once(done, remaining)
        return self.pod

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._watch is not None:
                self._watch.stop()

    def refresh(self) -> dict:
        try:
            self.pod = self.api.read_pod(self.name)
        except ApiException as exc:
            if not is_not_found(exc):
                raise
            self.gone = True
        return self.pod

    def _watch_once(self, done: Callable[[dict], bool], remaining: float) -> None:
        with self._lock:
            if self._stopped:
                return
            self._watch = watch.Watch()
        try:
            self._consume(self._watch, done, remaining)
            self._failures = 0
        except Exception as exc:
            self._recover(exc)
        finally:
            with self._lock:
                self._watch = None

    def _consume(self, stream_watch: watch.Watch, done: Callable[[dict], bool], remaining: float) -> None:
        timeout = max(1, math.ceil(remaining))
        events = stream_watch.stream(
            self.api.core.list_namespaced_pod,
            self.api.namespace,
            field_selector=f"metadata.name={self.name}",
            resource_version=self.pod["metadata"].get("resourceVersion"),
            timeout_seconds=timeout,
            _request_timeout=(CONNECT_TIMEOUT, timeout + READ_SLACK),
        )
        with contextlib.closing(events):
            for event in events:
                self._apply(event)
                if done(self.pod) or self.gone or self._stopped:
                    return

    def _apply(self, event: dict) -> None:
        if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
            self.pod = event["raw_object"]
        self.gone = self.gone or event["type"] == "DELETED"

    def _recover(self, error: Exception) -> None:
        if self._stopped:
            return
        expired = isinstance(error, ApiException) and error.status == 410
        if not (expired or is_retryable(error)):
            raise error
        self._failures += 0 if expired else 1
        if self._failures > self.api.options["api_retries"]:
            raise error
        log.info("watch of pod %s ended (%s); resuming", self.name, describe(error))
        if self._failures:
            time.sleep(self.api.options["api_backoff"] * 2 ** (self._failures - 1))
        self.refresh()  # a current state and resourceVersion to watch from


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
