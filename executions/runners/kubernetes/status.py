"""Reading a sandbox pod's status, and what a run's end means for the execution.

The pod comes as the API server sends it (a JSON dict). Its container's terminated state is
what the host side knows of a run by itself (checked against the entry's exit record in
``outcome.settle``); the pod's status explains the runs that ended without a record (OOM kill
of the whole container, deadline, eviction, a broken node).
"""

from __future__ import annotations

import signal

from executions.runners.base import ErrorType
from executions.runners.kubernetes.manifests import CONTAINER
from executions.runners.outcome import DISK_FULL, MEMORY_EXCEEDED
from executions.sandbox.protocol import ExitRecord

UNKNOWN_RUNTIME = "Unknown runtime {name!r}; available: {available}"
CREATE_FAILED = "The sandbox pod could not be created: {error}"
IMAGE_PULL_FAILED = "The runtime image {image} could not be pulled within {seconds:g}s: {detail}"
IMAGE_INVALID = "The runtime image {image} cannot be used: {detail}"
NOT_STARTED = "The sandbox pod did not start within {seconds:g}s: {detail}"
DEADLINE_EXCEEDED = "The sandbox pod reached its Kubernetes deadline (activeDeadlineSeconds) and was stopped"
HOST_TIMEOUT = "The sandbox did not end by itself and was deleted at the host deadline"
DISK_EXCEEDED = DISK_FULL + " (Kubernetes evicted the sandbox: {detail})"
EVICTED = "Kubernetes evicted the sandbox pod: {detail}"
POD_VANISHED = "The sandbox pod was deleted before the script finished"
SANDBOX_BROKE = "The sandbox ended without reporting how (container {detail})"
LOG_LOST = "The sandbox's output stream broke and could not be resumed: {detail}"
API_FAILED = "The Kubernetes API failed while following the sandbox: {detail}"
STOPPED = "Stopped"

PULL_FAILURES = frozenset({"ErrImagePull", "ImagePullBackOff", "RegistryUnavailable", "SignatureValidationFailed"})
FATAL_WAITING = frozenset({"InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError"})
# An OOM kill of the script alone (cgroup v1, or memory.oom.group off) leaves the entry alive
# to report a SIGKILL; a peak this close to the limit says who sent it.
OOM_PEAK_RATIO = 0.9


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
    return has_started(pod) or waiting_reason(pod)[0] in FATAL_WAITING


def not_started_detail(pod: dict) -> str:
    reason, message = waiting_reason(pod)
    if reason:
        return f"{reason}: {message}" if message else reason
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "False" and condition.get("message"):
            return f"{condition.get('reason', condition.get('type'))}: {condition['message']}"
    return f"phase {phase(pod) or 'unknown'}"


def start_failure(pod: dict, *, image: str, seconds: float) -> tuple[ErrorType, str]:
    """Why a pod that never started its container did not (called once waiting is over)."""
    reason, message = waiting_reason(pod)
    detail = not_started_detail(pod)
    if reason in FATAL_WAITING and reason != "CreateContainerConfigError":
        return ErrorType.SYSTEM_ERROR, IMAGE_INVALID.format(image=image, detail=detail)
    if reason in PULL_FAILURES:
        return ErrorType.SYSTEM_ERROR, IMAGE_PULL_FAILED.format(image=image, seconds=seconds, detail=detail)
    if is_finished(pod):
        return classify_pod(pod, gone=False)
    return ErrorType.SYSTEM_ERROR, NOT_STARTED.format(seconds=seconds, detail=detail)


def classify_pod(pod: dict, *, gone: bool) -> tuple[ErrorType, str]:
    """Why a run ended without the entry's exit record."""
    kind, details = container_state(pod)
    reason, message = pod_reason(pod)
    if kind == "terminated" and details.get("reason") == "OOMKilled":
        return ErrorType.MEMORY_LIMIT, MEMORY_EXCEEDED
    if reason == "DeadlineExceeded":
        return ErrorType.TIMEOUT, DEADLINE_EXCEEDED
    if reason == "Evicted":
        return _eviction(message)
    if kind == "terminated":
        return ErrorType.SYSTEM_ERROR, SANDBOX_BROKE.format(detail=_terminated_detail(details))
    if gone:
        return ErrorType.SYSTEM_ERROR, POD_VANISHED
    return ErrorType.SYSTEM_ERROR, LOG_LOST.format(detail=f"the container is still {kind or phase(pod) or 'unknown'}")


def _eviction(message: str) -> tuple[ErrorType, str]:
    # The script's own doing (its disk or log use) is a failed run; node pressure is ours.
    if "ephemeral" in message.lower() or "emptydir" in message.lower():
        return ErrorType.DISK_LIMIT, DISK_EXCEEDED.format(detail=message)
    return ErrorType.SYSTEM_ERROR, EVICTED.format(detail=message or "no reason given")


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
