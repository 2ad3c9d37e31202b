"""A FAKE Kubernetes API server for the runner's tests, not a Kubernetes.

A real HTTP server on 127.0.0.1, in a thread, speaking just enough of the API for the
official client the runner uses: create/get/list/delete pods and ConfigMaps, a merge patch of
a ConfigMap's metadata, watch one pod (chunked watch events, resourceVersions, 410 Gone), and
the pod log with ``follow=true`` (chunked, as it is written). A pod deleted with a grace period
shows as terminating (``deletionTimestamp``) until its kubelet confirms, which a lost node never
does; disruptions (preemption, the Eviction API, node-pressure eviction, a lost node) are
reported as the API server reports them. Behind it a fake kubelet (:class:`Kubelet`, told how by a
:class:`Behaviour`) plays the pod's
life: by default it runs the pod's command (the shared sandbox entry, with this
interpreter and its system-call filter), so the log holds genuine framed records. Run as root,
it runs the entry as a container would: PID 1 of a PID namespace of its own, as the pod's uid
with no capabilities, so an attack on the entry from the script is as real as in a pod.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from executions import sandbox
from executions.runners.local import seccomp

ENTRY = Path(sandbox.__file__).resolve().parent / "entry.py"
AS_A_CONTAINER = os.geteuid() == 0
# As root: a PID and mount namespace; the runtime bound where the pod's uid can reach it (pyenv
# keeps it under /root); then the pod's uid, no groups, no capabilities, and the entry as PID 1.
CONTAINER_START = (
    'mount --bind -o ro "$1" "$2" && shift 2 && '
    'exec setpriv --reuid="$1" --regid="$1" --clear-groups --inh-caps=-all --bounding-set=-all -- "${@:2}"'
)

PACKED_ARGS = ("run", "build", "env")  # the entry's lists: base64 of NUL-separated strings
PATCHABLE_METADATA = frozenset({"resourceVersion", "labels", "ownerReferences"})
NODE_LOST_AFTER = 0.3  # seconds after its first output that a pod's node is lost (Run.node_lost_on_output)
WAIT_STEP = 0.5  # streaming handlers re-check whether the server is closing this often


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Fault:
    """Answer matching requests with an error ``times`` times (before handling them)."""

    method: str
    path: str  # a regular expression, searched in the path
    status: int = 500
    times: int = 1
    retry_after: float | None = None
    message: str = "injected by the test"


@dataclass
class LogCut:
    """The next ``times`` log reads stop after ``lines`` lines: dropped, or ended cleanly."""

    lines: int
    abrupt: bool = True
    times: int = 1


class PodLog:
    def __init__(self):
        self.data = bytearray()
        self.closed = False
        self.stalled = False


class FakeKubeApi:
    def __init__(self, tmp: Path, behaviour: Behaviour | None = None):
        self.tmp = tmp
        self.behaviour = behaviour or Run()
        self.changed = threading.Condition()
        self.rv = itertools.count(100)
        self.pods: dict[str, dict] = {}
        self.config_maps: dict[str, dict] = {}
        self.events: list[tuple[int, str, dict]] = []
        self.logs: dict[str, PodLog] = {}  # each pod's (main) container's log
        self.init_logs: dict[tuple[str, str], PodLog] = {}  # (pod, init container) -> its log
        self.requests: list[tuple[str, str]] = []
        self.query_strings: list[tuple[str, str, str]] = []  # method, path, query
        self.created: list[dict] = []  # every object as the client sent it
        self.patches: list[tuple[str, dict]] = []  # every patch of a pod that applied
        self.attached: list[tuple[str, str, bytes]] = []  # pod, protocol, what came on stdin
        self.faults: list[Fault] = []
        self.log_cuts: list[LogCut] = []
        self.oldest_watchable = 0  # watches from an older resourceVersion get 410 Gone
        self.bookmarks = 0  # BOOKMARK events sent
        self.watch_epoch = 0  # drop_watches ends the watches of earlier epochs
        self.kubelets: dict[str, Kubelet] = {}
        self.missing_volumes: list[str] = []  # pods whose kubelet looked for their ConfigMap in vain
        self.silent: set[str] = set()  # pods whose node stopped answering: their log requests hang
        self.confirm_delay = 0.05  # how long a kubelet takes to confirm a pod's graceful deletion
        self.starting_peak = 0  # the most pods there were at once whose container was not running yet
        self.closing = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeKubeApi:
        threading.Thread(target=self.server.serve_forever, args=(0.05,), name="fake-kube-api", daemon=True).start()
        return self

    def close(self) -> None:
        with self.changed:
            self.closing = True
            self.changed.notify_all()
        for kubelet in list(self.kubelets.values()):
            kubelet.kill()
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def write_kubeconfig(self, path: Path) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }
        path.write_text(yaml.safe_dump(config))
        return path

    # --- state, used by the handler and the kubelet -------------------------------------------

    def next_rv(self) -> int:
        return next(self.rv)

    def create_pod(self, pod: dict) -> dict:
        name = pod["metadata"]["name"]
        with self.changed:
            if name in self.pods:
                return None
            pod["metadata"].update(uid=str(uuid.uuid4()), creationTimestamp=now())
            pod["status"] = {"phase": "Pending", "qosClass": "Guaranteed"}
            self.logs[name] = PodLog()
            self._record("ADDED", pod)
        self.kubelets[name] = self.behaviour.start(self, name)
        return pod

    def update_pod(self, name: str, change) -> None:
        """Apply ``change(pod)`` and publish a MODIFIED event, unless the pod is gone."""
        with self.changed:
            pod = self.pods.get(name)
            if pod is not None:
                change(pod)
                self._record("MODIFIED", pod)

    def terminate_pod(self, name: str, grace: int) -> dict | None:
        """A DELETE with a grace period: the pod is marked terminating, its kubelet stops the
        container and, unless its node is lost, confirms, which removes the pod. A pod already
        terminating is left as it is; with 0 it is removed at once (forced)."""
        with self.changed:
            pod = self.pods.get(name)
            if pod is None:
                return None
            if grace <= 0:
                self.delete_pod(name)
                return pod
            if pod["metadata"].get("deletionTimestamp"):
                return pod
            pod["metadata"].update(deletionTimestamp=now(), deletionGracePeriodSeconds=grace)
            self._record("MODIFIED", pod)
            kubelet = self.kubelets.get(name)
        if kubelet is not None and not kubelet.lost:
            kubelet.stop_for_deletion()
        return pod

    def disrupt(self, name: str, reason: str, message: str, *, grace: int = 1) -> None:
        """What the scheduler's preemption or the Eviction API does: the DisruptionTarget
        condition, then a graceful deletion."""
        self.update_pod(name, lambda pod: _condition(pod, "DisruptionTarget", "True", reason, message))
        self.terminate_pod(name, grace)

    def lose_node(self, name: str, *, status_after: float | None = 0.2, delete_after: float | None = None) -> None:
        """The pod's node stops answering: its log stalls, log requests hang, its container is
        never heard of again. After ``status_after`` the node controller marks the pod (phase
        Unknown, reason NodeLost); after ``delete_after`` the taint manager deletes it, which
        no kubelet confirms: it stays terminating."""
        with self.changed:
            self.silent.add(name)
        kubelet = self.kubelets.get(name)
        if kubelet is not None:
            kubelet.lose()
        if status_after is not None:
            threading.Timer(status_after, self.update_pod, args=(name, _node_lost)).start()
        if delete_after is not None:

            def taint_manager():
                self.update_pod(
                    name, lambda pod: _condition(pod, "DisruptionTarget", "True", "DeletionByTaintManager", "")
                )
                self.terminate_pod(name, 30)

            threading.Timer(delete_after, taint_manager).start()

    def patch_pod(self, name: str, patch: dict) -> tuple[int, str, str] | None:
        """Apply a merge patch (None), or say why not: (status, reason, message)."""
        with self.changed:
            pod = self.pods.get(name)
            if pod is None:
                return 404, "NotFound", f'pods "{name}" not found'
            metadata = patch.get("metadata") or {}
            expected = metadata.get("resourceVersion")
            if expected is not None and expected != pod["metadata"]["resourceVersion"]:
                message = (
                    f'Operation cannot be fulfilled on pods "{name}": the object has been modified; '
                    "please apply your changes to the latest version and try again"
                )
                return 409, "Conflict", message
            spec = patch.get("spec") or {}
            if set(spec) - {"activeDeadlineSeconds"} or set(metadata) - {
                "resourceVersion",
                "labels",
                "ownerReferences",
            }:
                return 422, "Invalid", f'Pod "{name}" is invalid: spec: Forbidden: pod updates may not change fields'
            deadline = spec.get("activeDeadlineSeconds")
            current = pod["spec"].get("activeDeadlineSeconds")
            if deadline is not None and current is not None and deadline > current:
                message = (
                    f'Pod "{name}" is invalid: spec.activeDeadlineSeconds: Invalid value: {deadline}: '
                    "must be less than or equal to previous value"
                )
                return 422, "Invalid", message
            labels = dict(pod["metadata"].get("labels") or {})
            for key, value in (metadata.get("labels") or {}).items():
                labels.pop(key) if value is None else labels.__setitem__(key, value)
            pod["metadata"]["labels"] = labels
            if "ownerReferences" in metadata:
                owners = metadata["ownerReferences"]
                pod["metadata"].pop("ownerReferences", None) if owners is None else pod["metadata"].update(
                    ownerReferences=owners
                )
            if deadline is not None:
                pod["spec"]["activeDeadlineSeconds"] = deadline
            self.patches.append((name, json.loads(json.dumps(patch))))
            self._record("MODIFIED", pod)
        return None

    def collect_dependents(self, owner_uid: str) -> None:
        """What the garbage collector does once an owner is gone: its pods are deleted."""
        owned = [
            name
            for name, pod in list(self.pods.items())
            if any(owner["uid"] == owner_uid for owner in pod["metadata"].get("ownerReferences") or [])
        ]
        for name in owned:
            self.terminate_pod(name, self.pods[name]["spec"].get("terminationGracePeriodSeconds", 30))

    def delete_pod(self, name: str) -> bool:
        with self.changed:
            pod = self.pods.get(name)
            if pod is None:
                return False
            self._record("DELETED", pod)
            del self.pods[name]
            self.logs[name].closed = True
            for (pod_name, _), log in self.init_logs.items():
                log.closed = log.closed or pod_name == name
            uid = pod["metadata"]["uid"]
            for cm_name, cm in list(self.config_maps.items()):  # what the API server's GC does
                if any(owner["uid"] == uid for owner in cm["metadata"].get("ownerReferences", [])):
                    del self.config_maps[cm_name]
        kubelet = self.kubelets.pop(name, None)
        if kubelet is not None:
            kubelet.kill()
        return True

    def append_log(self, name: str, data: bytes, *, close: bool = False, container: str | None = None) -> None:
        with self.changed:
            log = self.init_logs.setdefault((name, container), PodLog()) if container else self.logs[name]
            log.data += data
            log.closed = log.closed or close
            self.changed.notify_all()

    def _record(self, kind: str, pod: dict) -> None:
        rv = self.next_rv()
        pod["metadata"]["resourceVersion"] = str(rv)
        if kind != "DELETED":
            self.pods[pod["metadata"]["name"]] = pod
        starting = sum(_container_state(each) not in ("running", "terminated") for each in self.pods.values())
        self.starting_peak = max(self.starting_peak, starting)
        self.events.append((rv, kind, json.loads(json.dumps(pod))))
        self.changed.notify_all()

    def drop_watches(self) -> None:
        """End every open watch (what an API server restart does to them)."""
        with self.changed:
            self.watch_epoch += 1
            self.changed.notify_all()

    def expire_watch_history(self) -> None:
        with self.changed:
            self.oldest_watchable = self.next_rv()

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.changed:
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and re.search(fault.path, path):
                    fault.times -= 1
                    return fault
        return None

    def take_log_cut(self) -> LogCut | None:
        with self.changed:
            for cut in self.log_cuts:
                if cut.times > 0:
                    cut.times -= 1
                    return cut
        return None

    def queries(self, method: str, path_pattern: str) -> list[str]:
        return [q for m, p, q in self.query_strings if m == method and re.search(path_pattern, p)]

    def count(self, method: str, path_pattern: str) -> int:
        return sum(1 for m, p in self.requests if m == method and re.search(path_pattern, p))


# --- HTTP ------------------------------------------------------------------------------------

PODS = re.compile(r"^/api/v1/namespaces/([^/]+)/pods$")
POD = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)$")
POD_LOG = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/log$")
POD_ATTACH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/attach$")
MAPS = re.compile(r"^/api/v1/namespaces/([^/]+)/configmaps$")
MAP = re.compile(r"^/api/v1/namespaces/([^/]+)/configmaps/([^/]+)$")


def _handler_for(api: FakeKubeApi):
    class Handler(_Handler):
        fake = api

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeKubeApi

    def log_message(self, format, *args):  # keep test output clean
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        try:
            self._route(method)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client hung up on a stream: that is its right

    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        self.query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        self.fake.requests.append((method, parts.path))
        self.fake.query_strings.append((method, parts.path, parts.query))
        body = self._body()
        if method == "POST" and body is not None:
            self.fake.created.append(json.loads(json.dumps(body)))
        fault = self.fake.take_fault(method, parts.path)
        if fault is not None:
            return self._status(fault.status, "Injected", fault.message, retry_after=fault.retry_after)
        for pattern, handlers in ROUTES:
            match = pattern.match(parts.path)
            if match and method in handlers:
                return getattr(self, handlers[method])(*match.groups(), body)
        self._status(404, "NotFound", f"no route for {method} {parts.path}")

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    # --- pods ---

    def create_pod(self, namespace, body):
        created = self.fake.create_pod(body)
        if created is None:
            return self._status(409, "AlreadyExists", f'pods "{body["metadata"]["name"]}" already exists')
        self._json(201, created)

    def get_pod(self, namespace, name, body):
        pod = self.fake.pods.get(name)
        if pod is None:
            return self._status(404, "NotFound", f'pods "{name}" not found')
        self._json(200, pod)

    def delete_pod(self, namespace, name, body):
        grace = self.query.get("gracePeriodSeconds") or (body or {}).get("gracePeriodSeconds")
        # A pod's own terminationGracePeriodSeconds when none is given (the sandboxes say 0).
        pod = self.fake.pods.get(name) or {}
        default = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        pod = self.fake.terminate_pod(name, int(default if grace is None else grace))
        if pod is None:
            return self._status(404, "NotFound", f'pods "{name}" not found')
        self._json(200, pod)

    def patch_pod(self, namespace, name, body):
        """A JSON merge patch of labels, ownerReferences and activeDeadlineSeconds (which may only
        go down), refused with 409 when it names a resourceVersion the pod no longer has."""
        if self.headers.get("Content-Type") != "application/merge-patch+json":
            return self._status(415, "UnsupportedMediaType", f"unsupported patch {self.headers.get('Content-Type')}")
        problem = self.fake.patch_pod(name, body)
        if problem is not None:
            return self._status(*problem)
        self._json(200, self.fake.pods[name])

    def list_pods(self, namespace, body):
        if self.query.get("watch") == "true":
            return self._watch()
        self._json(
            200,
            {
                "kind": "PodList",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": str(self.fake.events[-1][0] if self.fake.events else 1)},
                "items": _select(self.fake.pods, self.query.get("labelSelector")),
            },
        )

    # --- configmaps ---

    def create_map(self, namespace, body):
        name = body["metadata"]["name"]
        if name in self.fake.config_maps:
            return self._status(409, "AlreadyExists", f'configmaps "{name}" already exists')
        body["metadata"].update(
            uid=str(uuid.uuid4()), creationTimestamp=now(), resourceVersion=str(self.fake.next_rv())
        )
        with self.fake.changed:
            self.fake.config_maps[name] = body
            self.fake.changed.notify_all()
        self._json(201, body)

    def patch_map(self, namespace, name, body):
        if self.headers.get("Content-Type") != "application/merge-patch+json":
            return self._status(415, "UnsupportedMediaType", f"unsupported patch {self.headers.get('Content-Type')}")
        config_map = self.fake.config_maps.get(name)
        if config_map is None:
            return self._status(404, "NotFound", f'configmaps "{name}" not found')
        if set(body) - {"metadata"} and config_map.get("immutable"):
            return self._status(422, "Invalid", f'ConfigMap "{name}" is invalid: field is immutable')
        owners = body.get("metadata", {}).get("ownerReferences")
        for owner in owners or []:
            if not any(pod["metadata"]["uid"] == owner["uid"] for pod in self.fake.pods.values()):
                # What the garbage collector then does: an owner that is gone takes it along.
                self.fake.config_maps.pop(name, None)
        with self.fake.changed:
            config_map["metadata"].update(body.get("metadata", {}))
            config_map["metadata"]["resourceVersion"] = str(self.fake.next_rv())
            self.fake.changed.notify_all()
        self._json(200, config_map)

    def get_map(self, namespace, name, body):
        config_map = self.fake.config_maps.get(name)
        if config_map is None:
            return self._status(404, "NotFound", f'configmaps "{name}" not found')
        self._json(200, config_map)

    def delete_map(self, namespace, name, body):
        removed = self.fake.config_maps.pop(name, None)
        if removed is None:
            return self._status(404, "NotFound", f'configmaps "{name}" not found')
        self.fake.collect_dependents(removed["metadata"]["uid"])
        self._json(200, removed)

    def list_maps(self, namespace, body):
        self._json(
            200,
            {
                "kind": "ConfigMapList",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": "1"},
                "items": _select(self.fake.config_maps, self.query.get("labelSelector")),
            },
        )

    # --- watch ---

    def _watch(self):
        """A watch of one pod (``fieldSelector=metadata.name=``) or of the pods a labelSelector
        picks, from ``resourceVersion``; with ``allowWatchBookmarks=true`` a BOOKMARK (an object
        with only its resourceVersion) whenever nothing else came for a while, as the API server
        sends them. Too old a version: an ERROR event carrying a 410 Status, in a 200 stream."""
        name = self.query.get("fieldSelector", "").removeprefix("metadata.name=")
        wanted = _selector(self.query.get("labelSelector"))
        since = int(self.query.get("resourceVersion") or 0)
        bookmarks = self.query.get("allowWatchBookmarks") == "true"
        deadline = _deadline(float(self.query.get("timeoutSeconds") or 30))
        self._start_chunked("application/json")
        if since < self.fake.oldest_watchable:
            gone = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "Expired",
                "message": f"too old resource version: {since}",
                "code": 410,
            }
            self._chunk(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
            return self._end_chunked()

        def picked(pod: dict) -> bool:
            if name:
                return pod["metadata"]["name"] == name
            return _matches(pod, wanted)

        epoch = self.fake.watch_epoch
        while (events := self._events_after(since, picked, deadline, bookmarks, epoch)) is not None:
            for rv, kind, pod in events:
                since = rv
                self._chunk(json.dumps({"type": kind, "object": pod}).encode() + b"\n")
        self._end_chunked()

    def _events_after(self, since: int, picked, deadline, bookmarks: bool, epoch: int) -> list | None:
        """New events of the pods ``picked``; a bookmark when there were none for a while and
        bookmarks were asked for; None when the watch should end (its timeout, or closing)."""
        with self.fake.changed:
            while True:
                events = [event for event in self.fake.events if event[0] > since and picked(event[2])]
                if events:
                    return events
                if self.fake.closing or deadline() <= 0 or self.fake.watch_epoch != epoch:
                    return None
                if not self.fake.changed.wait(min(deadline(), WAIT_STEP)) and bookmarks:
                    latest = self.fake.events[-1][0] if self.fake.events else since
                    if latest >= since:
                        self.fake.bookmarks += 1
                        bookmark = {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": str(latest)}}
                        return [(latest, "BOOKMARK", bookmark)]

    # --- log ---

    def pod_log(self, namespace, name, body):
        pod = self.fake.pods.get(name)
        if pod is None:
            return self._status(404, "NotFound", f'pods "{name}" not found')
        if name in self.fake.silent:  # the API server waits for a kubelet that does not answer
            return self._hang()
        container = self.query.get("container", pod["spec"]["containers"][0]["name"])
        inits = [each["name"] for each in pod["spec"].get("initContainers") or []]
        state = _init_state(pod, container) if container in inits else _container_state(pod)
        if state not in ("running", "terminated"):
            waiting = "PodInitializing" if inits and container not in inits else "ContainerCreating"
            message = f'container "{container}" in pod "{name}" is waiting to start: {waiting}'
            return self._status(400, "BadRequest", message)
        log = (
            self.fake.init_logs.setdefault((name, container), PodLog()) if container in inits else self.fake.logs[name]
        )
        self._stream_log(log, self.fake.take_log_cut(), self.query.get("follow") == "true")

    def _stream_log(self, log: PodLog, cut: LogCut | None, follow: bool) -> None:
        self._start_chunked("text/plain")
        sent, lines = 0, 0
        while (data := self._log_after(log, sent, follow)) is not None:
            if cut is not None and lines + data.count(b"\n") >= cut.lines:
                data = b"".join(data.splitlines(keepends=True)[: cut.lines - lines])
                if data:
                    self._chunk(data)
                return self._cut(abrupt=cut.abrupt)
            self._chunk(data)
            sent, lines = sent + len(data), lines + data.count(b"\n")
        self._end_chunked()

    def _hang(self) -> None:
        with self.fake.changed:
            while not self.fake.closing:
                self.fake.changed.wait(WAIT_STEP)
        self.close_connection = True

    def _log_after(self, log: PodLog, sent: int, follow: bool) -> bytes | None:
        with self.fake.changed:
            while True:
                if log.stalled:  # its node stopped answering mid-stream: nothing more, no end
                    self.fake.changed.wait(WAIT_STEP)
                    if self.fake.closing:
                        return None
                    continue
                if len(log.data) > sent:
                    return bytes(log.data[sent:])
                if log.closed or not follow or self.fake.closing:
                    return None
                self.fake.changed.wait(WAIT_STEP)

    def _cut(self, *, abrupt: bool) -> None:
        if not abrupt:
            return self._end_chunked()
        self.close_connection = True
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    # --- attach: Kubernetes' stream protocol over a WebSocket ---

    def pod_attach(self, namespace, name, body):
        """What the API server and the kubelet do for ``pods/attach``: the container's stdin
        (only what the sandboxes use) over a WebSocket speaking ``v5.channel.k8s.io`` (a
        ``[255, 0]`` message closes stdin) or ``v4.channel.k8s.io``/``channel.k8s.io``
        (closing the session does, as the container has stdinOnce). Every message starts
        with its channel: 0 stdin, 1 stdout, 2 stderr, 3 the error channel (a Status at the end)."""
        pod = self.fake.pods.get(name)
        if pod is None:
            return self._status(404, "NotFound", f'pods "{name}" not found')
        container = pod["spec"]["containers"][0]
        if self.query.get("container", container["name"]) != container["name"]:
            return self._status(400, "BadRequest", f"container {self.query['container']} is not valid for pod {name}")
        if self.query.get("stdin") == "true" and not container.get("stdin"):
            return self._status(400, "BadRequest", f"stdin is not enabled for container {container['name']}")
        if _container_state(pod) != "running":
            return self._status(400, "BadRequest", f'container "{container["name"]}" in pod "{name}" is not running')
        if self.headers.get("Upgrade", "").lower() != "websocket":
            return self._status(400, "BadRequest", "Upgrade request required")
        offered = [each.strip() for each in self.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        protocol = next((each for each in STREAM_PROTOCOLS if each in offered), None)
        if protocol is None:
            return self._status(400, "BadRequest", f"none of the offered protocols {offered} is supported")
        accept = base64.b64encode(hashlib.sha1(self.headers["Sec-WebSocket-Key"].encode() + WEBSOCKET_GUID).digest())
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept.decode())
        self.send_header("Sec-WebSocket-Protocol", protocol)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        kubelet = self.fake.kubelets[name]
        received = bytearray()
        while (message := self._ws_message()) is not None:
            if protocol == STREAM_PROTOCOLS[0] and message[:1] == b"\xff":
                if message[1:2] == b"\x00":
                    kubelet.close_stdin()
                continue
            if message[:1] == b"\x00" and len(message) > 1:
                received += message[1:]
                kubelet.write_stdin(message[1:])
        self.fake.attached.append((name, protocol, bytes(received)))
        if container.get("stdinOnce"):
            kubelet.close_stdin()
        success = json.dumps({"metadata": {}, "status": "Success"}).encode()
        with contextlib.suppress(OSError):
            self._ws_send(0x2, b"\x03" + success)
            self._ws_send(0x8, struct.pack("!H", 1000))

    def _ws_message(self) -> bytes | None:
        """The next data message from the client (frames put together), or None at its close."""
        message = bytearray()
        while True:
            header = self.rfile.read(2)
            if len(header) < 2:
                return None
            fin, opcode, masked, length = header[0] & 0x80, header[0] & 0x0F, header[1] & 0x80, header[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", self.rfile.read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4) if masked else b"\0\0\0\0"
            payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(self.rfile.read(length)))
            if opcode == 0x8:
                return None
            if opcode == 0x9:
                self._ws_send(0xA, payload)
                continue
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if fin:
                    return bytes(message)

    def _ws_send(self, opcode: int, payload: bytes) -> None:
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x80 | opcode, size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
        self.wfile.write(header + payload)
        self.wfile.flush()

    # --- writing ---

    def _json(self, code: int, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code: int, reason: str, message: str, *, retry_after: float | None = None) -> None:
        data = json.dumps(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "message": message,
                "reason": reason,
                "code": code,
            }
        ).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        self.wfile.write(data)

    def _start_chunked(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


# What the API server offers, best first (v5 from Kubernetes 1.30 on).
STREAM_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io")
WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

ROUTES = [
    (PODS, {"POST": "create_pod", "GET": "list_pods"}),
    (POD, {"GET": "get_pod", "DELETE": "delete_pod", "PATCH": "patch_pod"}),
    (POD_LOG, {"GET": "pod_log"}),
    (POD_ATTACH, {"GET": "pod_attach"}),
    (MAPS, {"POST": "create_map", "GET": "list_maps"}),
    (MAP, {"GET": "get_map", "DELETE": "delete_map", "PATCH": "patch_map"}),
]


def _select(objects: dict[str, dict], selector: str | None) -> list[dict]:
    wanted = _selector(selector)
    return [obj for obj in list(objects.values()) if _matches(obj, wanted)]


def _selector(selector: str | None) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in selector.split(",")) if selector else {}


def _matches(obj: dict, wanted: dict[str, str]) -> bool:
    labels = obj["metadata"].get("labels") or {}
    return all(labels.get(key) == value for key, value in wanted.items())


def _container_state(pod: dict) -> str:
    statuses = pod["status"].get("containerStatuses") or [{}]
    return next(iter(statuses[0].get("state") or {}), "")


def _deadline(seconds: float):
    end = time.monotonic() + seconds
    return lambda: end - time.monotonic()


# --- the fake kubelet ------------------------------------------------------------------------


class Behaviour:
    """How the fake kubelet plays the life of the pods created from now on."""

    def start(self, api: FakeKubeApi, name: str) -> Kubelet:
        kubelet = Kubelet(api, name, self)
        kubelet.start()
        return kubelet

    def play(self, kubelet: Kubelet) -> None:
        raise NotImplementedError


class Each(Behaviour):
    """One behaviour per pod, in order (the last one for every pod after)."""

    def __init__(self, *behaviours: Behaviour):
        self.behaviours = list(behaviours)

    def start(self, api: FakeKubeApi, name: str) -> Kubelet:
        behaviour = self.behaviours.pop(0) if len(self.behaviours) > 1 else self.behaviours[0]
        return behaviour.start(api, name)


@dataclass
class Run(Behaviour):
    """Run the pod's command for real: after ``schedule_delay`` unscheduled (Pending, no node has
    room yet) and ``start_delay`` in ContainerCreating (the kubelet mounting, pulling), and
    after ``pull_failures`` failed image pulls."""

    schedule_delay: float = 0.0
    start_delay: float = 0.0
    pull_failures: int = 0
    node_lost_on_output: bool = False  # the node stops answering when the script first writes stdout
    node_lost_status_after: float | None = 0.2  # ...and the node controller marks the pod (None: never)
    oom_on_output: bool = False  # the container is OOM-killed when the script first writes stdout
    evict_on_output: str | None = None  # ...or evicted, with this message
    deadline_after: float | None = None  # seconds running before activeDeadlineSeconds fires
    report_exit_code: int | None = None  # what the kubelet reports, whatever the container's was

    def play(self, kubelet: Kubelet) -> None:
        if self.schedule_delay:
            kubelet.api.update_pod(kubelet.name, _unschedulable)
            if kubelet.killed.wait(self.schedule_delay):
                return
        kubelet.api.update_pod(kubelet.name, _scheduled)
        if self.start_delay:
            kubelet.set_waiting("ContainerCreating", "")
            if kubelet.killed.wait(self.start_delay):
                return
        if not kubelet.wait_for_config_map():
            return
        for attempt in range(self.pull_failures):
            reason = "ErrImagePull" if attempt % 2 == 0 else "ImagePullBackOff"
            kubelet.set_waiting(reason, f'failed to pull image "{kubelet.image}": registry unavailable')
        kubelet.run_command(self)


@dataclass
class Stuck(Behaviour):
    """Never start: the container waits with ``reason``, or (no reason) the pod is unschedulable."""

    reason: str | None = None
    message: str = ""

    def play(self, kubelet: Kubelet) -> None:
        if self.reason:
            kubelet.set_waiting(self.reason, self.message)
        else:
            kubelet.api.update_pod(kubelet.name, _unschedulable)


class Kubelet(threading.Thread):
    def __init__(self, api: FakeKubeApi, name: str, behaviour: Behaviour):
        super().__init__(name=f"fake-kubelet-{name}", daemon=True)
        self.api, self.name, self.behaviour = api, name, behaviour
        self.pod = api.pods[name]
        self.image = self.pod["spec"]["containers"][0]["image"]
        self.process: subprocess.Popen | None = None
        self.ended_by: tuple[str, str, str] | None = None  # (pod reason, message, container reason)
        self.killed = threading.Event()
        self.lost = False  # its node stopped answering: it reports nothing any more
        self.lock = threading.Lock()
        # Where the pod's uid can reach (the test's own temporary directory is private to root).
        self.workdir = Path(tempfile.mkdtemp(prefix=f"fake-kubelet-{name[:20]}-"))
        self.workdir.chmod(0o711)
        volumes = self.pod["spec"].get("volumes") or []
        self.config_map = next((v["configMap"]["name"] for v in volumes if "configMap" in v), None)
        self.stdin_open = bool(self.pod["spec"]["containers"][0].get("stdin"))
        self._settings = bytearray()  # stdin until its first line, which names paths of the image

    def run(self) -> None:
        self.behaviour.play(self)

    def run_command(self, behaviour: Run) -> None:
        for init in self.pod["spec"].get("initContainers") or []:
            if not self._run_init(init):
                return
        with self.lock:
            if self.killed.is_set():
                return
            self._spawn()
        if behaviour.deadline_after is not None:
            threading.Timer(behaviour.deadline_after, self._end, args=self._deadline()).start()
        self._pump(behaviour)
        code = self.process.wait()
        if self.lost:
            return
        if behaviour.report_exit_code is not None:
            code = behaviour.report_exit_code
        self.api.append_log(self.name, b"", close=True)  # the log ends before the status says so
        self.api.update_pod(self.name, lambda pod: _terminated(pod, code, self.ended_by))
        if self.api.pods.get(self.name, {}).get("metadata", {}).get("deletionTimestamp"):
            self._confirm_deletion()

    def _run_init(self, container: dict) -> bool:
        """An init container, to its end, as the kubelet runs them: in order, before the
        containers; one that fails fails the pod (restartPolicy Never), the rest never start."""
        name = container["name"]
        with self.lock:
            if self.killed.is_set():
                return False
            self.process = self._popen(container, stdin=False)
        started = now()
        self.api.update_pod(self.name, lambda pod: _init(pod, name, {"running": {"startedAt": started}}))
        while data := os.read(self.process.stdout.fileno(), 65536):
            self.api.append_log(self.name, data, container=name)
        code = self.process.wait()
        self.api.append_log(self.name, b"", close=True, container=name)
        if self.lost:
            return False
        if self.killed.is_set():  # deleted while it ran
            if self.api.pods.get(self.name, {}).get("metadata", {}).get("deletionTimestamp"):
                self._confirm_deletion()
            return False
        reason = "Completed" if code == 0 else "Error"
        ended = {"terminated": {"exitCode": code, "reason": reason, "startedAt": started, "finishedAt": now()}}
        self.api.update_pod(self.name, lambda pod: _init(pod, name, ended, failed=code != 0))
        return code == 0

    def stop_for_deletion(self) -> None:
        """The pod is being deleted: the container is stopped (the entry, PID 1, ignores SIGTERM:
        it is killed), then the pod's end is confirmed, which removes it."""
        with self.lock:
            running = self.process is not None and self.process.poll() is None and not self.killed.is_set()
        if running:
            self.ended_by = self.ended_by or ("", "", "Error")
            self.kill()  # run_command reports the end and confirms
        else:
            self.kill()
            self._confirm_deletion()

    def _confirm_deletion(self) -> None:
        threading.Timer(self.api.confirm_delay, self.api.delete_pod, args=(self.name,)).start()

    def lose(self) -> None:
        """The node is gone: the container with it, and no word of it reaches the API server."""
        self.lost = True
        with self.api.changed:
            self.api.logs[self.name].stalled = True
        self.kill()

    def kill(self) -> None:
        with self.lock:
            self.killed.set()
            if self.process is not None:
                _kill_tree(self.process.pid)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def wait_for_config_map(self) -> bool:
        if self.config_map is None:  # an idle pod of the warm pool: its run comes over attach
            return True
        with self.api.changed:
            if self.name not in self.api.config_maps:  # a real kubelet: FailedMount, and retries
                self.api.missing_volumes.append(self.name)
            while self.name not in self.api.config_maps:
                if self.killed.is_set() or self.api.closing:
                    return False
                self.api.changed.wait(WAIT_STEP)
        return True

    def set_waiting(self, reason: str, message: str) -> None:
        state = {"waiting": {"reason": reason, "message": message}}
        self.api.update_pod(self.name, lambda pod: _container(pod, state, phase="Pending"))

    def _spawn(self) -> None:
        self.process = self._popen(self.pod["spec"]["containers"][0], stdin=self.stdin_open)
        state = {"running": {"startedAt": now()}}
        self.api.update_pod(self.name, lambda pod: _container(pod, state, phase="Running", ready=True))

    def _popen(self, container: dict, *, stdin: bool) -> subprocess.Popen:
        command, environment = self._local_command(container)
        scratch, work = self.workdir / "tmp", self.workdir / "work"  # the pod's two emptyDirs, shared
        for directory in (scratch, work):
            if not directory.exists():
                directory.mkdir(mode=0o700)
                if AS_A_CONTAINER:
                    os.chown(directory, self.uid, self.uid)
        assert container["workingDir"] == "/work"
        return subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            cwd=work,
            start_new_session=True,
            # The container's environment, its /tmp (HOME) as it is here.
            env={**{e["name"]: e["value"] for e in container.get("env") or []}, "HOME": str(scratch), **environment},
        )

    @property
    def uid(self) -> int:
        return self.pod["spec"]["securityContext"]["runAsUser"]

    def _local_command(self, container: dict) -> tuple[list[str], dict[str, str]]:
        """The pod's command, with this interpreter, the ConfigMap's files in a directory and the
        filter the runtime image bakes in."""
        files = self.workdir / "sandbox"
        if files.exists():  # made for an init container before
            _, _, _, _, *args = container["command"]
            return self._with_runtime(self.workdir / "image", self._in_image(args))
        files.mkdir(mode=0o755)
        if self.config_map is not None:
            for key, value in self.api.config_maps[self.config_map]["binaryData"].items():
                (files / key).write_bytes(base64.b64decode(value))
        elif AS_A_CONTAINER:  # an emptyDir, for the entry to write the run's files into
            os.chown(files, self.uid, self.uid)
        image = self.workdir / "image"
        image.mkdir(mode=0o755)
        (image / "filter.bpf").write_bytes(seccomp.program())
        shutil.copy(ENTRY, image / "entry.py")
        _, _, _, _, *args = container["command"]
        return self._with_runtime(image, self._in_image(args))

    def _with_runtime(self, image: Path, args: list[str]) -> tuple[list[str], dict[str, str]]:
        if not AS_A_CONTAINER:
            return [sys.executable, "-I", "-S", str(image / "entry.py"), *args], {}
        return self._container_command(image, args)

    def _in_image(self, args: list[str]) -> list[str]:
        """The entry's arguments with the image's paths as they are here (the ConfigMap's or
        emptyDir's /sandbox, the filter) and no RLIMIT_NPROC: one uid runs every fake pod, which
        would count them all together."""
        files, image = self.workdir / "sandbox", self.workdir / "image"

        def here(text: str) -> str:
            text = re.sub(r"(^|=)/sandbox(?=/|$)", rf"\g<1>{files}", text)
            return re.sub(r"(^|=)/tmp/build(?=/|$)", rf"\g<1>{self.workdir}/tmp/build", text)

        args = [re.sub(r"^nproc=.*", "nproc=0", arg) for arg in args]
        args = [_repacked(arg, here) if arg.split("=", 1)[0] in PACKED_ARGS else here(arg) for arg in args]
        return [f"filter={image}/filter.bpf" if arg.startswith("filter=") else arg for arg in args]

    def write_stdin(self, data: bytes) -> None:
        """What an attach sent on its stdin channel; its first line is the entry's settings."""
        if self._settings is not None:
            self._settings += data
            if b"\n" not in self._settings:
                return
            line, _, data = bytes(self._settings).partition(b"\n")
            self._settings = None
            data = " ".join(self._in_image(line.decode().split())).encode() + b"\n" + data
        self._stdin().write(data)
        self._stdin().flush()

    def close_stdin(self) -> None:
        """The attach that had stdin ended (the container says stdinOnce): stdin reaches its end."""
        with self.lock:
            if not self.stdin_open:
                return
            self.stdin_open = False
        try:
            if self._settings:
                self._stdin().write(bytes(self._settings))  # a line cut short, as it came
            self._stdin().close()
        except OSError:  # the container is gone
            pass

    def _stdin(self):
        if self.process is None or self.process.stdin is None:
            raise OSError("the container is not running")
        return self.process.stdin

    def _container_command(self, image: Path, args: list[str]) -> tuple[list[str], dict[str, str]]:
        interpreter = os.path.realpath(sys._base_executable)
        prefix = os.path.dirname(os.path.dirname(interpreter))
        runtime = image / "runtime"
        runtime.mkdir(exist_ok=True)  # one per pod: its init containers' and its container's mount point
        python = str(runtime / os.path.relpath(interpreter, prefix))
        start = [
            "unshare",
            "--pid",
            "--fork",
            "--mount",
            "--propagation",
            "private",
            "--mount-proc",
            "--",
            "bash",
            "-c",
            CONTAINER_START,
            "container",
            prefix,
            str(runtime),
            str(self.uid),
        ]
        return [*start, python, "-I", "-S", str(image / "entry.py"), *args], {"LD_LIBRARY_PATH": f"{runtime}/lib"}

    def _pump(self, behaviour: Run) -> None:
        trigger = self._oom() if behaviour.oom_on_output else None
        lose_at, lost_status_after = None, behaviour.node_lost_status_after
        if behaviour.evict_on_output:
            trigger = ("Evicted", behaviour.evict_on_output, "Error")
        while data := os.read(self.process.stdout.fileno(), 65536):
            self.api.append_log(self.name, data)
            if behaviour.node_lost_on_output and b"\nO " in b"\n" + data and not lose_at:
                # A moment later: the follower has read what was written before.
                lose_at = threading.Timer(
                    NODE_LOST_AFTER, self.api.lose_node, args=(self.name,), kwargs={"status_after": lost_status_after}
                )
                lose_at.start()
            if trigger and b"\nO " in b"\n" + data:
                self._end(*trigger)
                trigger = None

    def _oom(self) -> tuple[str, str, str]:
        return ("", "", "OOMKilled")

    def _deadline(self) -> tuple[str, str, str]:
        return ("DeadlineExceeded", "Pod was active on the node longer than the specified deadline", "Error")

    def _end(self, reason: str, message: str, container_reason: str) -> None:
        self.ended_by = (reason, message, container_reason)
        self.kill()


def _container(pod: dict, state: dict, *, phase: str, ready: bool = False) -> None:
    spec = pod["spec"]["containers"][0]
    pod["status"].update(
        phase=phase,
        containerStatuses=[
            {
                "name": spec["name"],
                "image": spec["image"],
                "imageID": "",
                "ready": ready,
                "restartCount": 0,
                "started": "running" in state,
                "state": state,
            }
        ],
    )


def _repacked(arg: str, change) -> str:
    key, _, value = arg.partition("=")
    parts = base64.b64decode(value).decode().split("\0") if value else []
    return f"{key}=" + base64.b64encode("\0".join(change(part) for part in parts).encode()).decode()


def _init_state(pod: dict, name: str) -> str:
    statuses = [each for each in pod["status"].get("initContainerStatuses") or [] if each["name"] == name]
    return next(iter(statuses[0].get("state") or {}), "") if statuses else ""


def _init(pod: dict, name: str, state: dict, *, failed: bool = False) -> None:
    """An init container's status; while they run the pod is Pending and its containers wait."""
    spec = next(each for each in pod["spec"]["initContainers"] if each["name"] == name)
    entry = {"name": name, "image": spec["image"], "imageID": "", "ready": False, "restartCount": 0, "state": state}
    others = [each for each in pod["status"].get("initContainerStatuses") or [] if each["name"] != name]
    waiting = {"waiting": {"reason": "PodInitializing"}}
    _container(pod, waiting, phase="Failed" if failed else "Pending")
    pod["status"]["initContainerStatuses"] = [*others, entry]


def _terminated(pod: dict, code: int, ended_by: tuple[str, str, str] | None) -> None:
    reason, message, container_reason = ended_by or ("", "", "Completed" if code == 0 else "Error")
    exit_code = 137 if ended_by else code
    state = {"terminated": {"exitCode": exit_code, "reason": container_reason, "startedAt": now(), "finishedAt": now()}}
    _container(pod, state, phase="Succeeded" if exit_code == 0 else "Failed")
    if reason:
        pod["status"].update(reason=reason, message=message)
    if reason == "Evicted":
        _condition(pod, "DisruptionTarget", "True", "TerminationByKubelet", message)


def _condition(pod: dict, kind: str, status: str, reason: str, message: str) -> None:
    conditions = [each for each in pod["status"].get("conditions") or [] if each["type"] != kind]
    condition = {"type": kind, "status": status, "reason": reason, "lastTransitionTime": now()}
    pod["status"]["conditions"] = [*conditions, condition | ({"message": message} if message else {})]


def _scheduled(pod: dict) -> None:
    pod["spec"]["nodeName"] = "fake-node-1"
    pod["status"].setdefault("startTime", now())  # the kubelet took the pod (its deadline counts from here)
    _condition(pod, "PodScheduled", "True", "", "")


def _node_lost(pod: dict) -> None:
    node = pod["spec"].get("nodeName", "fake-node-1")
    message = f"Node {node} which was running pod {pod['metadata']['name']} is unresponsive"
    pod["status"].update(phase="Unknown", reason="NodeLost", message=message)


def _unschedulable(pod: dict) -> None:
    pod["status"]["conditions"] = [
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": "0/3 nodes are available: 3 Insufficient memory.",
        }
    ]


def _kill_tree(pid: int) -> None:
    """The entry and whatever it started: here nothing ends them with a PID namespace."""
    for victim in [pid, *_descendants(pid)]:
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _descendants(pid: int) -> list[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found
