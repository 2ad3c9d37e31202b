"""Reading a sandbox pod's status, and what a run's end means for the execution.

The pod comes as the API server sends it (a JSON dict). Its container's terminated state is
what the host side knows of a run by itself (checked against the entry's exit record in
``outcome.settle``); the pod's status explains the runs that ended without a record (OOM kill
of the whole container, deadline, eviction, a broken node).
"""

from __future__ import annotations

import signal
from datetime import datetime
from typing import NamedTuple

from executions.runners.base import ErrorType
from executions.runners.kubernetes.manifests import CONTAINER
from executions.runners.outcome import DISK_FULL, MEMORY_EXCEEDED
from executions.sandbox.protocol import ExitRecord

UNKNOWN_RUNTIME = "Unknown runtime {name!r}; available: {available}"
CREATE_FAILED = "The sandbox pod could not be created: {error}"
IMAGE_PULL_FAILED = "The runtime image {image} could not be pulled within {seconds:g}s: {detail}"
IMAGE_INVALID = "The runtime image {image} cannot be used: {detail}"
NOT_STARTED = "The sandbox pod did not start within {seconds:g}s: {detail}"
DELIVERY_FAILED = "The run could not be delivered to the idle sandbox pod {pod}: {detail}"
TOO_MANY_STARTING = "No sandbox pod could be started: {count} others were still starting after {seconds:g}s"
DEADLINE_EXCEEDED = "The sandbox pod reached its Kubernetes deadline (activeDeadlineSeconds) and was stopped"
HOST_TIMEOUT = "The sandbox did not end by itself and was deleted at the host deadline"
DISK_EXCEEDED = DISK_FULL + " (Kubernetes evicted the sandbox: {detail})"
LOG_ALLOWANCE_EXCEEDED = (
    "Kubernetes evicted the sandbox pod for the disk its log took, beyond what the runner allowed for "
    "it (not the script's disk limit): {detail}"
)
EVICTED = "Kubernetes evicted the sandbox pod: {detail}"
PREEMPTED = "The sandbox pod was preempted by the scheduler for a pod of higher priority: {detail}"
EVICTED_BY_API = "The sandbox pod was evicted through the Eviction API (a node drain, say): {detail}"
TERMINATED_BY_KUBELET = "The node's kubelet ended the sandbox pod (node pressure or a node shutdown): {detail}"
NODE_LOST = "The node running the sandbox pod was lost: {detail}"
NODE_SHUTDOWN = "The node running the sandbox pod shut down: {detail}"
KUBELET_SILENT = (
    "The node running the sandbox pod stopped answering: its output stalled for {seconds:g}s and its "
    "kubelet did not answer ({detail})"
)
POD_VANISHED = "The sandbox pod was deleted before the script finished"
SANDBOX_BROKE = "The sandbox ended without reporting how (container {detail})"
LOG_LOST = "The sandbox's output stream broke and could not be resumed: {detail}"
API_FAILED = "The Kubernetes API failed while following the sandbox: {detail}"
STOPPED = "Stopped"

PULL_FAILURES = frozenset({"ErrImagePull", "ImagePullBackOff", "RegistryUnavailable", "SignatureValidationFailed"})
FATAL_WAITING = frozenset({"InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError"})
# Why the pod is going, when Kubernetes says (the DisruptionTarget condition, 1.26+).
DISRUPTIONS = {
    "PreemptionByScheduler": ("preempted", PREEMPTED),
    "EvictionByEvictionAPI": ("evicted", EVICTED_BY_API),
    "TerminationByKubelet": ("evicted", TERMINATED_BY_KUBELET),
    "DeletionByTaintManager": ("node_lost", NODE_LOST),
    "DeletionByPodGC": ("node_lost", NODE_LOST),
}
# The kubelet's eviction messages (pkg/kubelet/eviction): an emptyDir over its sizeLimit is the
# script's disk; the container's own limit (its root is read-only: only its log counts) is ours.
EMPTY_DIR_EVICTION = "usage of emptydir volume"
CONTAINER_EVICTION = "exceeded its local ephemeral storage limit"
POD_EVICTION = "pod ephemeral local storage usage exceeds"
# An OOM kill of the script alone (cgroup v1, or memory.oom.group off) leaves the entry alive
# to report a SIGKILL; a peak this close to the limit says who sent it.
OOM_PEAK_RATIO = 0.9


class Failure(NamedTuple):
    """Why a run failed without the script's say: its error type and message, and when the
    failure is ours (not the script's), its kind and whether running it again may succeed."""

    error_type: ErrorType
    message: str
    infrastructure: str = ""
    retryable: bool = False


def ours(kind: str, message: str, *, retryable: bool = True) -> Failure:
    return Failure(ErrorType.SYSTEM_ERROR, message, kind, retryable)


def container_status(pod: dict) -> dict:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return next((status for status in statuses if status.get("name") == CONTAINER), {})


def container_state(pod: dict) -> tuple[str, dict]:
    """("waiting" | "running" | "terminated" | "", details)."""
    state = container_status(pod).get("state") or {}
    for key in ("terminated", "running", "waiting"):
        if state.get(key) is not None:
            return key, state[key]
    return "", {}


def created_at(item: dict) -> datetime:
    return parse_time(item["metadata"]["creationTimestamp"])


def parse_time(stamp: str | datetime) -> datetime:
    if isinstance(stamp, datetime):
        return stamp
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase", "")


def pod_reason(pod: dict) -> tuple[str, str]:
    status = pod.get("status") or {}
    return status.get("reason", ""), status.get("message", "")


def is_finished(pod: dict) -> bool:
    return phase(pod) in ("Succeeded", "Failed") or container_state(pod)[0] == "terminated"


def has_started(pod: dict) -> bool:
    return container_state(pod)[0] in ("running", "terminated") or is_finished(pod)


def waiting_reason(pod: dict) -> tuple[str, str]:
    kind, details = container_state(pod)
    return (details.get("reason", ""), details.get("message", "")) if kind == "waiting" else ("", "")


def start_settled(pod: dict) -> bool:
    """Nothing more to wait for before streaming: started, finished, or failed for good."""
    return has_started(pod) or waiting_reason(pod)[0] in FATAL_WAITING or disruption(pod) is not None


def not_started_detail(pod: dict) -> str:
    reason, message = waiting_reason(pod)
    if reason:
        return f"{reason}: {message}" if message else reason
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "False" and condition.get("message"):
            return f"{condition.get('reason', condition.get('type'))}: {condition['message']}"
    return f"phase {phase(pod) or 'unknown'}"


def start_failure(pod: dict, *, image: str, seconds: float) -> Failure:
    """Why a pod that never started its container did not (called once waiting is over)."""
    reason, message = waiting_reason(pod)
    detail = not_started_detail(pod)
    if reason in FATAL_WAITING and reason != "CreateContainerConfigError":
        return Failure(ErrorType.SYSTEM_ERROR, IMAGE_INVALID.format(image=image, detail=detail))
    if reason in PULL_FAILURES:
        return Failure(ErrorType.SYSTEM_ERROR, IMAGE_PULL_FAILED.format(image=image, seconds=seconds, detail=detail))
    if is_finished(pod) or disruption(pod):
        return classify_pod(pod, gone=False)
    # Pending: no node has room (a full pool, or one still scaling up), or the node is slow.
    return ours("not_started", NOT_STARTED.format(seconds=seconds, detail=detail))


def classify_pod(pod: dict, *, gone: bool, log_bytes: int = 0, log_allowance: int | None = None) -> Failure:
    """Why a run ended without the entry's exit record. ``log_bytes``: what its log took so far,
    as the kubelet counts it, against ``log_allowance`` of its disk (bytes)."""
    kind, details = container_state(pod)
    reason, message = pod_reason(pod)
    if kind == "terminated" and details.get("reason") == "OOMKilled":
        return Failure(ErrorType.MEMORY_LIMIT, MEMORY_EXCEEDED)
    if reason == "DeadlineExceeded":
        return Failure(ErrorType.TIMEOUT, DEADLINE_EXCEEDED)
    if reason == "Evicted":
        return _eviction(message, log_bytes=log_bytes, log_allowance=log_allowance)
    if found := disruption(pod):
        return found
    if kind == "terminated":
        return Failure(ErrorType.SYSTEM_ERROR, SANDBOX_BROKE.format(detail=_terminated_detail(details)))
    if gone:
        return ours("deleted", POD_VANISHED)
    state = kind or phase(pod) or "unknown"
    return ours("log_lost", LOG_LOST.format(detail=f"the container is still {state}"))


def disruption(pod: dict) -> Failure | None:
    """The pod is going, or gone, for reasons of the cluster's: preempted, evicted, its node lost
    or shut down (as the API server reports it); None when nothing says so."""
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "DisruptionTarget" and condition.get("status") == "True":
            kind, text = DISRUPTIONS.get(condition.get("reason", ""), ("evicted", EVICTED))
            return ours(kind, text.format(detail=_said(condition.get("reason"), condition.get("message"))))
    reason, message = pod_reason(pod)
    if reason == "NodeLost" or phase(pod) == "Unknown":
        return ours("node_lost", NODE_LOST.format(detail=_said(reason or "phase Unknown", message)))
    if reason in ("Terminated", "Shutdown", "NodeShutdown"):
        return ours("node_lost", NODE_SHUTDOWN.format(detail=_said(reason, message)))
    return None


def _said(reason: str | None, message: str | None) -> str:
    return f"{reason}: {message.strip()}" if reason and message else (reason or message or "no reason given")


def _eviction(message: str, *, log_bytes: int, log_allowance: int | None) -> Failure:
    """The script's own doing (its scratch space over the disk limit) is a failed run; node
    pressure, and the disk its log took beyond the allowance we gave it, are ours."""
    text = message.lower()
    said = message.strip() or "no reason given"
    if EMPTY_DIR_EVICTION in text:
        return Failure(ErrorType.DISK_LIMIT, DISK_EXCEEDED.format(detail=said))
    if CONTAINER_EVICTION in text:
        return ours("evicted_log", LOG_ALLOWANCE_EXCEEDED.format(detail=said), retryable=False)
    if POD_EVICTION in text:
        # The scratch space and the log together: the log within its allowance leaves the scratch.
        if log_allowance is not None and log_bytes > log_allowance:
            return ours("evicted_log", LOG_ALLOWANCE_EXCEEDED.format(detail=said), retryable=False)
        return Failure(ErrorType.DISK_LIMIT, DISK_EXCEEDED.format(detail=said))
    return ours("evicted", EVICTED.format(detail=said))


def _terminated_detail(details: dict) -> str:
    parts = [f"exit code {details.get('exitCode')}"]
    if details.get("reason"):
        parts.append(f"reason {details['reason']}")
    if details.get("message"):
        parts.append(details["message"].strip())
    return ", ".join(parts)


def memory_exhausted(pod: dict, record: ExitRecord | None, *, memory_mb: int) -> bool:
    """The container was OOM-killed, or its script was: a pod has no cgroup of ours to ask, so
    a SIGKILL with a peak this close to the limit says who sent it."""
    kind, details = container_state(pod)
    if kind == "terminated" and details.get("reason") == "OOMKilled":
        return True
    return bool(
        record and record.signal == signal.SIGKILL and record.peak_memory_kb >= memory_mb * 1024 * OOM_PEAK_RATIO
    )
