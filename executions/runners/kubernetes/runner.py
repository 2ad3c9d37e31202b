"""The Kubernetes runner: one pod per run, in a namespace kept for sandboxes.

The pod (see ``manifests``) runs the shared sandbox entry as PID 1 of a hardened container; its
script comes in a ConfigMap, created before the pod (so the kubelet never waits for it) and
then made the pod's (so it goes with the pod), or the run goes to an idle pod of the warm pool
(``pool``) over attach. The runner follows the pod through its one shared watch of the sandbox
namespace (``informer``) until its container starts, then streams the pod log, which carries
the entry's framed records, into the sink as it is written. How the run ended is settled like
the local runner's (``outcome.settle``): the container's terminated state, as the kubelet
reports it, is the host's own view (its exit status, an OOM kill), checked against the entry's
exit record; when the entry could not write one, the pod's status says why. The pod and the
ConfigMap are deleted when the run ends or is stopped; ``reap`` removes what a crashed runner
left behind.

What fails for reasons of the cluster's (a pod left Pending past the start limit, a node lost
or silent, a preemption, an eviction the script did not cause) is a ``system_error`` that
says so, marked ``infrastructure`` and, where another try may do better, ``retryable``: the
dispatcher requeues it while attempts remain. A log stream silent for ``log_idle_timeout``
makes the runner look at the pod and ask its kubelet for the log's last line. At most
``max_starting`` pods are starting at once (``start_gate``), so that a full cluster slows the
claims down rather than piling Pending pods up.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from kubernetes.client.exceptions import ApiException

from executions.runners import languages
from executions.runners.base import (
    BaseRunner,
    ErrorType,
    OutputSink,
    RunnerError,
    RunResult,
    RunSpec,
    RuntimeInfo,
    Sandbox,
    StartGate,
)
from executions.runners.files import reported_by
from executions.runners.kubernetes import attach, manifests, pool_objects, status
from executions.runners.kubernetes.client import (
    KubeApi,
    KubeConfigError,
    config_problem,
    describe,
    is_retryable,
    timed_out,
)
from executions.runners.kubernetes.follow import LogLines, LogStream, PodWatch
from executions.runners.kubernetes.informer import PodInformer
from executions.runners.kubernetes.pool import OWNER_STALE, WarmPool
from executions.runners.outcome import HostView, settle
from executions.runners.packages import DATA_SUFFIX, locked_packages
from executions.sandbox.protocol import Decoder

log = logging.getLogger(__name__)

ENDED, BROKE, STALLED = "ended", "broke", "stalled"  # how a read of the log stopped

UNKNOWN_OPTIONS = "Unknown KubernetesRunner options: {names}"
NO_RUNTIMES = "No runtime images configured (KUBERNETES_RUNTIME_IMAGES=name=image,...)"
STATUS_SETTLE_SECONDS = 5.0  # after the log ends, how long the container may take to show as ended
# The runner's own options, beside the pod's (manifests.DEFAULT_OPTIONS).
RUNNER_OPTIONS = {
    "max_starting": 10,  # pods created and not yet running, at most (the rest wait to be claimed)
    "delete_grace": 2,  # seconds: pods deleted with this grace show as terminating until confirmed
    "log_idle_timeout": 30.0,  # seconds of a silent log before the pod and its kubelet are checked
    "probe_timeout": 10.0,  # seconds the kubelet has to answer such a check
    # The warm pool: [{"runtime", "idle", "limits", "file_caps"}, ...] (pool_objects.Tier), and
    # how long an idle pod waits for a run before it is replaced.
    "pool": [],
    "pool_ttl": 600.0,
    "pool_owner": None,  # the executor's name on its idle pods (default: host name and pid)
}
DEFAULT_OPTIONS = manifests.DEFAULT_OPTIONS | RUNNER_OPTIONS
# A pod still terminating this long after its grace period ended is stuck (its node is gone):
# the reaper forces it out.
STUCK_TERMINATING = timedelta(minutes=5)


class KubernetesRunner(BaseRunner):
    name = "kubernetes"

    def __init__(self, **options):
        unknown = set(options) - set(DEFAULT_OPTIONS)
        if unknown:
            raise RunnerError(UNKNOWN_OPTIONS.format(names=sorted(unknown)), permanent=True)
        super().__init__(**{**DEFAULT_OPTIONS, **options})
        self.api = KubeApi(self.options)
        self.start_gate = StartGate(self.options["max_starting"])
        self.informer = PodInformer(self.api, manifests.SANDBOX_SELECTOR)
        self.pool = None
        if self.options["pool"]:
            try:
                self.pool = WarmPool(self.api, self.informer, self.options, identity=self.options["pool_owner"])
            except ValueError as exc:
                raise RunnerError(str(exc), permanent=True) from exc

    def prepare(self) -> None:
        if self.pool is not None:
            self.pool.start()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        self.informer.stop()

    def runtimes(self) -> dict[str, RuntimeInfo]:
        """From the names: ``python3.13`` is CPython 3.13 alone, ``python3.13-data`` the same with
        the data runtime's locked packages (its image is built from that lock file)."""
        return {name: _runtime_info(name, image) for name, image in self.options["runtime_images"].items()}

    def isolation_of(self, runtime: str) -> str:
        """A pod, with the runtime class that runs it where one is set (gVisor's, typically)."""
        runtime_class = self.options["runtime_class"]
        return f"kubernetes:{runtime_class}" if runtime_class else "kubernetes"

    def start(self, spec: RunSpec, sink: OutputSink) -> Sandbox:
        if spec.runtime not in self.options["runtime_images"]:
            available = ", ".join(self.options["runtime_images"])
            raise RunnerError(status.UNKNOWN_RUNTIME.format(name=spec.runtime, available=available), permanent=True)
        warm = self.pool.claim(spec) if self.pool is not None else None
        if warm is not None:
            try:
                sandbox = KubeSandbox(self, spec, sink, warm=warm)
            except RunnerError as exc:  # the idle pod took no run: a cold one will
                log.warning("%s; starting a cold pod", exc)
            else:
                self.start_gate.skip()
                return sandbox
        gate = self.start_gate
        if not gate.enter(timeout=self.options["image_pull_timeout"]):
            too_many = status.TOO_MANY_STARTING.format(count=gate.starting, seconds=self.options["image_pull_timeout"])
            raise RunnerError(too_many)
        try:
            return KubeSandbox(self, spec, sink)
        except BaseException:
            gate.leave()
            raise

    def check(self) -> list[str]:
        problems = [] if self.options["runtime_images"] else [NO_RUNTIMES]
        return problems + [problem for problem in [config_problem(kubeconfig=self.options["kubeconfig"])] if problem]

    def reap(self, *, older_than: timedelta, finished: Callable[[Iterable[str]], set[str]] | None = None) -> int:
        """Delete sandbox pods (and ConfigMaps) older than ``older_than`` or whose execution
        ``finished`` says is final; returns how many pods and orphaned ConfigMaps went. A pod
        already terminating is left to finish (it was counted when it was deleted), unless it
        is stuck so (``STUCK_TERMINATING`` past its grace: its node is gone) and forced out.

        Idle pods of the warm pool have no run: they go when they ended, or when their executor
        is gone (its owner ConfigMap stale, deleted here, or missing)."""
        now = datetime.now(UTC)
        owners = self._live_pool_owners(now)  # before the pods: a pod's owner is older than it
        pods = self.api.list_pods(manifests.SANDBOX_SELECTOR)
        maps = self.api.list_config_maps(manifests.SANDBOX_SELECTOR)
        runs = [item for item in pods + maps if not pool_objects.is_idle(item)]
        final = finished({_execution_of(item) for item in runs}) if finished else set()
        cutoff = now - older_than

        def leftover(item: dict) -> bool:
            if pool_objects.is_idle(item):
                return status.is_finished(item) or pool_objects.orphaned(item, owners, now=now)
            return status.created_at(item) < cutoff or _execution_of(item) in final

        pod_names = {pod["metadata"]["name"] for pod in pods}
        live = [pod for pod in pods if not pod["metadata"].get("deletionTimestamp")]
        stuck = {pod["metadata"]["name"] for pod in pods if _terminating_since(pod, now) > STUCK_TERMINATING}
        doomed = {pod["metadata"]["name"] for pod in live if leftover(pod)}
        removed = sum(self.api.delete_pod(name) for name in doomed)
        removed += sum(self.api.delete_pod(name, grace=0) for name in stuck)
        # A ConfigMap goes with its pod; one without a pod is only touched once it is old or
        # final, since a runner creates the ConfigMap first and its pod a moment later.
        for config_map in maps:
            name = config_map["metadata"]["name"]
            if (name in doomed or leftover(config_map)) and self.api.delete_config_map(name):
                removed += name not in pod_names
        return removed

    def _live_pool_owners(self, now: datetime) -> set[str]:
        """The executors whose idle pods may stay; stale owners are deleted (the GC takes their
        idle pods along)."""
        live = set()
        for owner in self.api.list_config_maps(pool_objects.OWNER_SELECTOR):
            if pool_objects.heartbeat_of(owner) < now - OWNER_STALE:
                self.api.delete_config_map(owner["metadata"]["name"])
            else:
                live.add((owner.get("data") or {}).get("executor", ""))
        return live


def _execution_of(item: dict) -> str:
    return (item["metadata"].get("labels") or {}).get(manifests.EXECUTION_LABEL, "")


def _terminating_since(pod: dict, now: datetime) -> timedelta:
    """How long past its grace period a terminating pod is still there (zero when it is not)."""
    stamp = pod["metadata"].get("deletionTimestamp")
    return now - status.parse_time(stamp) if stamp else timedelta(0)


class KubeSandbox(Sandbox):
    """One run's pod: a cold one made for it, or a ``warm`` idle pod the pool gave it."""

    def __init__(self, runner: KubernetesRunner, spec: RunSpec, sink: OutputSink, *, warm: dict | None = None):
        self.api, self.options, self.spec, self.sink = runner.api, runner.options, spec, sink
        self.informer = runner.informer
        self.warm = warm is not None
        self.plan = _plan_of(warm) if warm else manifests.sandbox_for(spec, self.options)
        # A compiled language is built first, in the pod's init container: followed as the run's
        # container until its C record, then the program's container is.
        self.compile_limits = manifests.compile_limits_of(spec)
        self.container = manifests.BUILD_CONTAINER if self.compile_limits else manifests.CONTAINER
        self.compile_ms: int | None = None
        self._build_began: float | None = None
        self._skip_start = False
        file_bytes = spec.file_caps.total_bytes if spec.file_caps else 0
        self.decoder = Decoder(output_bytes=spec.limits.output_bytes, file_bytes=file_bytes)
        self.lines = LogLines(self._decode)
        self.stopped_as: ErrorType | None = None
        self.backstop_fired = False
        self.failure: status.Failure | None = None
        self.log_bytes = 0  # what the log took so far, as the kubelet counts it (framing included)
        self.gate = runner.start_gate
        self._starting = not self.warm  # holds a place of the start gate
        self.start_ms: int | None = None
        self._lock = threading.Lock()
        self._log: LogStream | None = None
        self._backstop: threading.Timer | None = None
        self.created_at = time.monotonic()
        self.watch = PodWatch(self.informer, self.api, self._deliver(warm) if warm else self._create())
        self.watch.view = self._view

    # --- creating -----------------------------------------------------------------------

    def _deliver(self, pod: dict) -> dict:
        """The run, to the entry waiting in a claimed idle pod: its settings line over attach."""
        line = pool_objects.settings_line(self.spec, self.options)
        try:
            attach.write_stdin(self.api, self.plan.name, manifests.CONTAINER, line)
        except Exception as exc:
            self._delete()
            raise RunnerError(status.DELIVERY_FAILED.format(pod=self.plan.name, detail=describe(exc))) from exc
        return pod

    def _create(self) -> dict:
        """The ConfigMap first, so that the kubelet never looks for a volume that is not there
        yet; then the pod; then the pod is made the ConfigMap's owner (garbage collection
        removes the ConfigMap with it; until then the runner and the reaper do)."""
        config_map = manifests.config_map(self.spec, self.plan, self.options, owner_uid=manifests.OWNER_UID_PLACEHOLDER)
        owners = config_map["metadata"].pop("ownerReferences")
        try:
            self.api.create_config_map(config_map)
            created = self.api.create_pod(manifests.pod(self.spec, self.plan, self.options))
        except Exception as exc:
            self._delete()
            raise _start_error(exc) from exc
        try:
            self.api.set_owner(self.plan.name, [owner | {"uid": created["metadata"]["uid"]} for owner in owners])
        except Exception as exc:  # the run goes on: its ConfigMap is deleted with it, or reaped
            log.warning("making pod %s own its ConfigMap failed: %s", self.plan.name, describe(exc))
        return created

    def _started(self) -> None:
        """The pod runs, or never will: its place among the starting is free."""
        with self._lock:
            starting, self._starting = self._starting, False
        if starting:
            self.gate.leave()

    # --- following ----------------------------------------------------------------------

    def wait(self) -> RunResult:
        try:
            started = self._await_start()
            self._started()
            if started:
                self._arm_backstop()
                self._time_build()
                self._stream_log()
                if self._built():
                    self._to_program()
                    if self._await_start():
                        self._stream_log()
            return self._result()
        except Exception as exc:
            log.exception("following sandbox pod %s failed", self.plan.name)
            self.failure = self.failure or status.Failure(
                ErrorType.SYSTEM_ERROR, status.API_FAILED.format(detail=describe(exc))
            )
            return self._result()
        finally:
            self._started()
            if self._backstop is not None:
                self._backstop.cancel()
            self._delete()

    def _await_start(self) -> bool:
        """True when the container started; otherwise ``failure`` says why it did not."""
        timeout = self.options["image_pull_timeout"]
        pod = self.watch.until(status.start_settled, deadline=self.created_at + timeout)
        if self.stopped_as is not None or status.has_started(pod):
            return self.stopped_as is None
        if self.watch.gone:
            self.failure = status.disruption(pod) or status.ours("deleted", status.POD_VANISHED)
        else:
            self.failure = status.start_failure(pod, image=self.plan.image, seconds=timeout)
        return False

    def _view(self, pod: dict) -> dict:
        """The pod as if the container followed now were its only one (the build's, first)."""
        if self.container == manifests.CONTAINER:
            return pod
        state = pod.get("status") or {}
        builds = [each for each in state.get("initContainerStatuses") or [] if each.get("name") == self.container]
        return pod | {
            "status": state | {"containerStatuses": [each | {"name": manifests.CONTAINER} for each in builds]}
        }

    def _time_build(self) -> None:
        """compile_ms: the runner's clock from the build container seen running to its C record;
        the kubelet's (whole seconds) when the build was over before the runner saw it run."""
        if self.container != manifests.BUILD_CONTAINER:
            return
        kind, details = status.container_state(self.watch.pod)
        if kind == "running":
            self._build_began = time.monotonic()
        elif kind == "terminated" and details.get("startedAt") and details.get("finishedAt"):
            took = status.parse_time(details["finishedAt"]) - status.parse_time(details["startedAt"])
            self.compile_ms = round(took.total_seconds() * 1000)

    def _built(self) -> bool:
        """The build ended well (its C record says so) and the program is yet to run."""
        compiled = self.decoder.compiled
        return self.container == manifests.BUILD_CONTAINER and bool(compiled and compiled.built) and not self._done()

    def _to_program(self) -> None:
        """From the build's container to the program's: its log from its start, less the start
        record the decoder already had from the build."""
        self.container = manifests.CONTAINER
        self.lines = LogLines(self._decode)
        self.log_bytes = 0
        self._skip_start = True
        self.created_at = time.monotonic()  # the program's container starts from now

    def _arm_backstop(self) -> None:
        build = self.compile_limits.wall_seconds if self.compile_limits else 0
        delay = build + self.spec.limits.wall_seconds + self.options["host_grace"]
        self._backstop = threading.Timer(delay, self._backstop_fire)
        self._backstop.daemon = True
        self._backstop.start()

    def _backstop_fire(self) -> None:
        # A run past its wall limit whose node does not answer is not the script's timeout.
        problem = self._node_problem(stalled_for=self.spec.limits.wall_seconds + self.options["host_grace"])
        with self._lock:
            if problem is not None:
                self.failure = self.failure or problem
            else:
                self.backstop_fired = True
        self._teardown()

    def _node_problem(self, *, stalled_for: float) -> status.Failure | None:
        """Whether the pod's log is silent because of the cluster: the pod shows a disruption
        (its node lost, a preemption, an eviction) or its kubelet does not answer."""
        try:
            pod = self.watch.refresh()
        except Exception as exc:  # the API server itself: not the node's fault
            log.warning("reading pod %s failed: %s", self.plan.name, describe(exc))
            return None
        if found := status.disruption(pod):
            return found
        if self.watch.gone or status.is_finished(pod):
            return None  # the log says the rest
        try:
            self.api.probe_log(self.plan.name, self.container, timeout=self.options["probe_timeout"])
        except Exception as exc:
            if isinstance(exc, ApiException) and not is_retryable(exc):
                return None
            message = status.KUBELET_SILENT.format(seconds=stalled_for, detail=describe(exc))
            return status.ours("kubelet_unresponsive", message)
        return None

    def _stream_log(self) -> None:
        reread_finished = False
        attempt = 0
        while attempt <= self.options["log_reconnects"]:
            outcome = self._read_log()
            if self._done_reading():
                return
            if outcome == STALLED:
                # Silent for log_idle_timeout: a quiet script, or a node that stopped answering.
                problem = self._node_problem(stalled_for=self.options["log_idle_timeout"])
                if problem is not None:
                    self.failure = self.failure or problem
                    return
                if not (self.watch.gone or status.is_finished(self.watch.pod)):
                    log.info("log of pod %s silent; the pod runs, reading on", self.plan.name)
                    self.lines.restart()
                    continue  # not a failure of the stream: not counted
            self._settle(outcome == BROKE)
            if self.watch.gone or status.disruption(self.watch.pod):
                return
            if status.is_finished(self.watch.pod):
                # The container ended without an exit record. Its whole log is still there:
                # read it once more in case the stream was cut before the end, then stop.
                if reread_finished:
                    return
                reread_finished = True
            attempt += 1
            log.info("log of pod %s ended early; reading again (%d)", self.plan.name, attempt)
            self.lines.restart()

    def _settle(self, broke: bool) -> None:
        if broke:
            self.watch.refresh()
        else:  # a clean end: the container ended (its status follows shortly), or the stream was cut
            self.watch.until(status.is_finished, deadline=time.monotonic() + STATUS_SETTLE_SECONDS)

    def _read_log(self) -> str:
        """Read the log until it ends: ENDED, BROKE (the connection broke rather than ended) or
        STALLED (nothing came for ``log_idle_timeout``)."""
        try:
            stream = LogStream(self.api, self.plan.name, self.container, idle_timeout=self.options["log_idle_timeout"])
        except ApiException as exc:
            if is_retryable(exc) or exc.status in (400, 404):  # 400: not started yet, or gone
                return BROKE
            raise
        except Exception as exc:
            if timed_out(exc):
                return STALLED
            if is_retryable(exc):
                return BROKE
            raise
        with self._lock:
            self._log = stream
            if self._done_reading():
                stream.close()
                return ENDED
        try:
            for chunk in stream.chunks():
                self.lines.feed(chunk)
                if self._overflowed():
                    self._teardown()  # the entry should have stopped at the cap: do not trust it
                    break
            return ENDED
        except Exception as exc:
            if timed_out(exc):
                return STALLED
            if not is_retryable(exc):
                raise
            return BROKE
        finally:
            with self._lock:
                self._log = None

    def _done_reading(self) -> bool:
        return self._done() or (self.container == manifests.BUILD_CONTAINER and self.decoder.compiled is not None)

    def _done(self) -> bool:
        return (
            self.decoder.exit is not None
            or self.stopped_as is not None
            or self.backstop_fired
            or self.failure is not None
            or self._overflowed()
        )

    def _decode(self, data: bytes) -> None:
        self.log_bytes += len(data) + manifests.LOG_LINE_FRAMING
        if self._skip_start and data.startswith(b"S "):
            self._skip_start = False
            return
        had_started, had_compiled = self.decoder.started, self.decoder.compiled is not None
        for stream, text in self.decoder.feed(data):
            self.sink.write(stream, text)
        now = time.monotonic()
        if self.decoder.started and not had_started:
            self.start_ms = round((now - self.created_at) * 1000)
        if self.decoder.compiled is not None and not had_compiled and self._build_began is not None:
            self.compile_ms = round((now - self._build_began) * 1000)

    def _overflowed(self) -> bool:
        return any(self.decoder.overflowed.values())

    # --- stopping -----------------------------------------------------------------------

    def stop(self, error_type: ErrorType = ErrorType.CANCELLED) -> None:
        with self._lock:
            if self.stopped_as is None:
                self.stopped_as = error_type
        # The deletion may retry: keep the caller (the dispatcher's heartbeat) free.
        threading.Thread(target=self._teardown, name=f"stop-{self.plan.name}", daemon=True).start()

    def _teardown(self) -> None:
        self.watch.stop()
        with self._lock:
            stream = self._log
        if stream is not None:
            stream.interrupt()
        self._delete()

    def _delete(self) -> None:
        deletes = (self.api.delete_pod,) if self.warm else (self.api.delete_pod, self.api.delete_config_map)
        for delete in deletes:
            try:
                delete(self.plan.name)
            except Exception as exc:  # the reaper removes what is left
                log.warning("deleting %s failed: %s", self.plan.name, describe(exc))

    # --- reporting ----------------------------------------------------------------------

    def _result(self) -> RunResult:
        self.lines.finish()
        for stream, text in self.decoder.finish():
            self.sink.write(stream, text)
        pod = self._final_pod()
        files, left_out = reported_by(
            self.decoder, self.spec.file_caps
        )  # before settling: files over the caps break the protocol
        failure = self._no_record(pod)
        result = settle(self.decoder, self._host_view(pod), self.spec.limits, no_record=failure[:2])
        if failure.infrastructure and (result.error_type, result.message) == failure[:2]:
            result.infrastructure, result.retryable = failure.infrastructure, failure.retryable
        if self.decoder.violation is None:
            result.files, result.files_truncated = files, self.decoder.files_truncated or left_out
        if self.compile_limits is not None:
            result.compile_ms = self.compile_ms
        result.extra.update(
            start_ms=self.start_ms,
            runner="kubernetes",
            pod=self.plan.name,
            warm=self.warm,
            node=(pod.get("spec") or {}).get("nodeName"),
        )
        return result

    def _final_pod(self) -> dict:
        """The pod once its container shows as ended, when it ran and ended by itself (the
        kubelet reports it shortly after the log ends)."""
        if self.stopped_as is None and not self.backstop_fired and self.failure is None:
            with contextlib.suppress(Exception):
                self.watch.until(status.is_finished, deadline=time.monotonic() + STATUS_SETTLE_SECONDS)
        return self.watch.pod

    def _host_view(self, pod: dict) -> HostView:
        kind, details = status.container_state(pod)
        ended = kind == "terminated" and self.stopped_as is None and not self.backstop_fired
        return HostView(
            status=details.get("exitCode") if ended and isinstance(details.get("exitCode"), int) else None,
            memory_exhausted=status.memory_exhausted(pod, self.decoder.exit, memory_mb=self._memory_mb()),
            stopped_as=self.stopped_as,
            backstop_fired=self.backstop_fired,
        )

    def _memory_mb(self) -> int:
        building = self.container == manifests.BUILD_CONTAINER and self.compile_limits
        return self.compile_limits.memory_mb if building else self.spec.limits.memory_mb

    def _no_record(self, pod: dict) -> status.Failure:
        if self.backstop_fired:
            return status.Failure(ErrorType.TIMEOUT, status.HOST_TIMEOUT)
        if self.failure is not None:
            return self.failure
        allowance = manifests.log_allowance_mb(self.spec.limits, self.spec.file_caps) * manifests.MIB
        return status.classify_pod(pod, gone=self.watch.gone, log_bytes=self.log_bytes, log_allowance=allowance)


def _plan_of(pod: dict) -> manifests.Sandbox:
    spec = pod["spec"]
    uid, image = spec["securityContext"]["runAsUser"], spec["containers"][0]["image"]
    return manifests.Sandbox(pod["metadata"]["name"], uid, image)


def _start_error(error: Exception) -> RunnerError:
    return RunnerError(status.CREATE_FAILED.format(error=describe(error)), permanent=_is_permanent(error))


def _is_permanent(error: Exception) -> bool:
    if not isinstance(error, ApiException) or is_retryable(error):
        return isinstance(error, KubeConfigError)
    quota = error.status == 403 and "exceeded quota" in (error.body or "")
    return error.status in (400, 401, 403, 404, 422) and not quota


def _runtime_info(name: str, image: str) -> RuntimeInfo:
    # Not interactive: a pod's stdin would need an attach stream per run, kept open across
    # dispatcher restarts (see docs/architecture.md, "Interactive runs").
    language = languages.by_runtime(name)
    if language is not None:
        # Its toolchain is in the image, not here: its version is the image's tag (the
        # workflow tags each language's image with the version its toolchain reports).
        return replace(language.info(version=image_tag(image)), interactive=False)
    version = name.removeprefix("python").removesuffix(DATA_SUFFIX)
    packages = locked_packages() if name.endswith(DATA_SUFFIX) else {}
    return RuntimeInfo("python", version, packages, interactive=False)


def image_tag(image: str) -> str:
    """``registry:5000/repo/name:tag@sha256:...`` -> ``tag`` ("latest" when there is none)."""
    name = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else "latest"
