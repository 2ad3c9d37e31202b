"""One watch of the sandbox namespace for the whole runner: every running execution reads its
pod from here instead of opening a watch of its own.

A thread lists the sandbox pods, then watches them from the list's resourceVersion with
bookmarks (the API server's "nothing for you, but you are at version N", so a resumed watch
starts late enough not to be told it is too old). A watch that ends (its timeout, a dropped
connection) resumes from the last version seen; one the API server no longer can resume
(410 Gone, its history compacted) starts over with a fresh list. Deleted pods are kept for a
while as tombstones, so a run learns its pod is gone even after the fact.

A pod also enters the cache from what the runner itself got back (a create, a read): never
older than what the watch brought (resourceVersions compared as the numbers etcd gives).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from executions.runners.kubernetes.client import KubeApi, describe

log = logging.getLogger(__name__)

WATCH_SECONDS = 240  # a watch request's server-side timeout; it then resumes from its version
CONNECT_TIMEOUT = 10.0
READ_SLACK = 30.0  # a watch's reads may block this much longer than its server-side timeout
TOMBSTONES = 4096  # deleted pods remembered
MAX_BACKOFF = 5.0


class PodInformer:
    def __init__(self, api: KubeApi, selector: str):
        self.api, self.selector = api, selector
        self.changed = threading.Condition()
        self.version: str | None = None  # the last resourceVersion seen (None: list first)
        self.lists = self.watches = 0  # requests made, for tests and curiosity
        self._pods: dict[str, dict] = {}
        self._deleted: OrderedDict[str, dict] = OrderedDict()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._watch: watch.Watch | None = None
        self._synced = threading.Event()

    # --- reading --------------------------------------------------------------------------

    def get(self, name: str) -> tuple[dict | None, bool]:
        """The pod as last seen, and whether it was deleted."""
        with self.changed:
            if name in self._deleted:
                return self._deleted[name], True
            return self._pods.get(name), False

    def pods(self, keep: Callable[[dict], bool]) -> list[dict]:
        """The live pods ``keep`` wants (a snapshot)."""
        with self.changed:
            return [pod for pod in self._pods.values() if keep(pod)]

    def wait(self, done: Callable[[], bool], *, deadline: float) -> None:
        """Until ``done()`` (checked at every change) or the deadline."""
        self.start()
        with self.changed:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.changed.wait(remaining)

    def wait_synced(self, timeout: float) -> bool:
        self.start()
        return self._synced.wait(timeout)

    # --- what the runner knows itself ---------------------------------------------------------

    def observe(self, pod: dict) -> None:
        """A pod as the API server returned it to a call of ours: kept unless the cache is newer."""
        name = pod["metadata"]["name"]
        with self.changed:
            if name in self._deleted:
                return
            current = self._pods.get(name)
            if current is None or _version(pod) >= _version(current):
                self._pods[name] = pod
                self.changed.notify_all()

    def vanished(self, name: str) -> None:
        """A read of ours found the pod gone (404)."""
        with self.changed:
            self._bury(name, self._pods.get(name) or {"metadata": {"name": name}})

    def notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    # --- the thread ---------------------------------------------------------------------------

    def start(self) -> None:
        with self.changed:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kubernetes-informer", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self.changed:
            if self._watch is not None:
                self._watch.stop()
            self.changed.notify_all()

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                if self.version is None:
                    self._list()
                self._watch_once()
                failures = 0
            except Exception as exc:
                if isinstance(exc, ApiException) and exc.status == 410:
                    log.info("the sandbox watch is too old to resume (%s); listing again", describe(exc))
                    self.version = None
                    continue
                failures += 1
                delay = min(MAX_BACKOFF, self.api.options["api_backoff"] * 2 ** (failures - 1))
                log.warning("the sandbox watch failed (%s); again in %.2fs", describe(exc), delay)
                self._stopping.wait(delay)

    def _list(self) -> None:
        self.lists += 1
        listed = self.api.call(
            "list pods", self.api.core.list_namespaced_pod, self.api.namespace, label_selector=self.selector
        )
        listed = self.api.core.api_client.sanitize_for_serialization(listed)
        version = listed["metadata"]["resourceVersion"]
        items = {pod["metadata"]["name"]: pod for pod in listed.get("items") or []}
        with self.changed:
            for name, pod in list(self._pods.items()):
                if name not in items and _version(pod) <= _number(version):
                    self._bury(name, pod)  # deleted while no watch was there to say so
            for pod in items.values():
                self.observe(pod)
            self.version = version
            self.changed.notify_all()
        self._synced.set()

    def _watch_once(self) -> None:
        stream_watch = watch.Watch()
        with self.changed:
            if self._stopping.is_set():
                return
            self._watch = stream_watch
        self.watches += 1
        events = stream_watch.stream(
            self.api.core.list_namespaced_pod,
            self.api.namespace,
            label_selector=self.selector,
            resource_version=self.version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS,
            _request_timeout=(CONNECT_TIMEOUT, WATCH_SECONDS + READ_SLACK),
        )
        try:
            with contextlib.closing(events):
                for event in events:
                    self._apply(event)
        finally:
            with self.changed:
                self._watch = None

    def _apply(self, event: dict) -> None:
        kind, pod = event["type"], event["raw_object"]
        with self.changed:
            if kind in ("ADDED", "MODIFIED"):
                self._pods[pod["metadata"]["name"]] = pod
            elif kind == "DELETED":
                self._bury(pod["metadata"]["name"], pod)
            self.version = pod["metadata"].get("resourceVersion") or self.version  # bookmarks too
            self.changed.notify_all()

    def _bury(self, name: str, pod: dict) -> None:
        self._pods.pop(name, None)
        self._deleted[name] = pod
        while len(self._deleted) > TOMBSTONES:
            self._deleted.popitem(last=False)
        self.changed.notify_all()


def _version(pod: dict) -> int:
    return _number(pod["metadata"].get("resourceVersion"))


def _number(version: str | None) -> int:
    try:
        return int(version or 0)
    except ValueError:  # not a number: another store than etcd; trust what came last
        return 0
