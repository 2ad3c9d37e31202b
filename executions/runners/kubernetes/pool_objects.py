"""The Kubernetes objects of the warm pool, as plain dicts: idle pods, their owner, a claim.

An idle pod is a sandbox pod (``manifests.pod``, the same hardening) made before its run is
known: its container runs the entry with ``settings=-``, so the entry starts, writes its start
record and waits on its standard input. The run comes later over ``pods/attach`` as one line
(``settings_line``): the entry's arguments for the run and its files, which the entry writes
into ``/sandbox`` (an emptyDir here, where a cold pod mounts its ConfigMap) before it starts
the script. Nothing of the run is in the pod's spec, so one idle pod serves any run of the
same shape: runtime, memory, disk and log allowance (the pod's resources, which cannot change).

Idle pods belong to their executor's owner ConfigMap (``owner_config_map``): the executor
renews it while it lives and deletes it when it stops; the reaper deletes it once it is stale.
Either way the API server's garbage collector takes the executor's idle pods with it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from executions.runners import languages
from executions.runners.base import FileCaps, Limits, RunSpec
from executions.runners.kubernetes import manifests, status

POOL_LABEL = "integr8scode.io/pool"  # "idle" while the pod waits; "claimed" once a run has it
SHAPE_LABEL = "integr8scode.io/pool-shape"  # which runs it can serve, and of which configuration
OWNER_LABEL = "integr8scode.io/pool-owner"  # the executor that made it
IDLE, CLAIMED = "idle", "claimed"
OWNER_COMPONENT = "pool-owner"
OWNER_SELECTOR = f"{manifests.MANAGED_BY}=integr8scode,{manifests.COMPONENT}={OWNER_COMPONENT}"
HEARTBEAT_ANNOTATION = "integr8scode.io/heartbeat"
UNPACK_MB = 2  # the run's files as the entry writes them (a ConfigMap's 1 MiB, and slack)
OWNER_GRACE = timedelta(minutes=1)
SHAPE_BYTES = 5  # of the hash: 10 hex digits in a label
COMPILED_NOT_POOLED = "{runtime} is compiled: its runs cannot wait in an idle pod (remove it from KUBERNETES_POOL)"


@dataclass(frozen=True)
class Tier:
    """Idle pods kept for runs of one runtime at one set of caps (a memory tier)."""

    runtime: str
    idle: int
    limits: Limits  # the caps of the runs it serves (its memory, disk and wall are the pod's)
    file_caps: FileCaps | None


def tiers_from(options: dict) -> list[Tier]:
    """The configured tiers; none of a compiled language (its build runs in the pod's init
    container, before anything could wait for a run)."""
    tiers = []
    for item in options["pool"]:
        language = languages.by_runtime(item["runtime"])
        if language is not None and language.compiled:
            raise ValueError(COMPILED_NOT_POOLED.format(runtime=item["runtime"]))
        caps = item.get("file_caps")
        tiers.append(Tier(item["runtime"], item["idle"], Limits(**item["limits"]), FileCaps(**caps) if caps else None))
    return tiers


def shape(runtime: str, limits: Limits, file_caps: FileCaps | None) -> tuple:
    """What a pod's spec fixes of a run: its runtime, memory, disk and log allowance."""
    return runtime, limits.memory_mb, limits.disk_mb, manifests.ephemeral_storage_mb(limits, file_caps)


def fits(tier: Tier, spec: RunSpec) -> bool:
    """Whether an idle pod of ``tier`` can serve ``spec`` exactly as a cold pod would."""
    same = shape(spec.runtime, spec.limits, spec.file_caps) == shape(tier.runtime, tier.limits, tier.file_caps)
    return same and spec.limits.wall_seconds <= tier.limits.wall_seconds and not spec.interactive


def owner_name(identity: str) -> str:
    return f"pool-owner-{identity}"


def identity_of(hostname: str, pid: int) -> str:
    """A DNS label for this executor process: its pod's name (unique in a cluster) and pid."""
    label = re.sub(r"[^a-z0-9-]+", "-", hostname.lower()).strip("-")[:40] or "executor"
    return f"{label}-{pid}"


def owner_config_map(identity: str, options: dict, *, now: datetime) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": owner_name(identity),
            "namespace": options["namespace"],
            "labels": {manifests.MANAGED_BY: "integr8scode", manifests.COMPONENT: OWNER_COMPONENT},
            "annotations": {HEARTBEAT_ANNOTATION: stamp(now)},
        },
        "data": {"executor": identity},
    }


def heartbeat_of(owner: dict) -> datetime:
    annotations = owner["metadata"].get("annotations") or {}
    return status.parse_time(annotations.get(HEARTBEAT_ANNOTATION) or owner["metadata"]["creationTimestamp"])


def orphaned(pod: dict, owners: set[str], *, now: datetime) -> bool:
    """An idle pod whose executor is not among the live ``owners`` (and that is not so new
    that its owner may have been made after they were listed)."""
    owner = (pod["metadata"].get("labels") or {}).get(OWNER_LABEL)
    return owner not in owners and status.created_at(pod) < now - OWNER_GRACE


def heartbeat_patch(now: datetime) -> dict:
    return {"metadata": {"annotations": {HEARTBEAT_ANNOTATION: stamp(now)}}}


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def idle_pod(tier: Tier, options: dict, *, identity: str, owner_uid: str) -> dict:
    """An idle pod of ``tier``, owned by the executor's owner ConfigMap."""
    body = _idle_pod(tier, options, uid_placeholder=False)
    body["metadata"]["labels"] |= {SHAPE_LABEL: shape_key(tier, options), OWNER_LABEL: identity}
    owner = {"apiVersion": "v1", "kind": "ConfigMap", "name": owner_name(identity), "uid": owner_uid}
    body["metadata"]["ownerReferences"] = [owner | {"blockOwnerDeletion": False}]
    return body


def shape_key(tier: Tier, options: dict) -> str:
    """A digest of everything an idle pod of ``tier`` is made of (image, options, caps, TTL):
    idle pods of another key were made for another configuration and are drained."""
    template = _idle_pod(tier, options, uid_placeholder=True)
    encoded = json.dumps(template, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[: 2 * SHAPE_BYTES]


def _idle_pod(tier: Tier, options: dict, *, uid_placeholder: bool) -> dict:
    spec = RunSpec(
        execution_id="pool", script="", stdin="", runtime=tier.runtime, limits=tier.limits, file_caps=tier.file_caps
    )
    plan = manifests.sandbox_for(spec, options)
    name = f"pool-{re.sub(r'[^a-z0-9-]+', '-', tier.runtime.lower())[:30]}-{secrets.token_hex(4)}"
    plan = replace(plan, name="pool" if uid_placeholder else name, uid=0 if uid_placeholder else plan.uid)
    body = manifests.pod(spec, plan, options)
    labels = body["metadata"]["labels"]
    del labels[manifests.EXECUTION_LABEL]
    labels[POOL_LABEL] = IDLE
    pod_spec = body["spec"]
    # Long enough to wait out its TTL, then run the longest run; a claim lowers it to the run's.
    pod_spec["activeDeadlineSeconds"] = math.ceil(
        options["image_pull_timeout"] + options["pool_ttl"] + tier.limits.wall_seconds + options["deadline_grace"]
    )
    container = pod_spec["containers"][0]
    interpreter = container["command"][:4]  # the interpreter, its flags and the entry
    fixed = [arg for arg in container["command"][4:] if arg.split("=", 1)[0] in _FIXED_ARGS]
    container["command"] = [*interpreter, "settings=-", f"unpack={manifests.SCRIPT_DIR}", *fixed]
    container.update(stdin=True, stdinOnce=True)
    for mount in container["volumeMounts"]:
        if mount["name"] == "script":
            mount["readOnly"] = False
    storage = manifests.ephemeral_storage_mb(tier.limits, tier.file_caps) + UNPACK_MB
    for kind in ("requests", "limits"):
        container["resources"][kind]["ephemeral-storage"] = f"{storage}Mi"
    pod_spec["volumes"] = [
        {"name": "script", "emptyDir": {"sizeLimit": f"{UNPACK_MB}Mi"}} if volume["name"] == "script" else volume
        for volume in pod_spec["volumes"]
    ]
    return body


# What the entry needs before its settings come: its filter goes on at once, its packages are
# where the runtime keeps them. The rest comes with the run.
_FIXED_ARGS = frozenset({"filter", "nofile", "packages", "memory_mark"})


def settings_line(spec: RunSpec, options: dict) -> bytes:
    """The run, for an idle pod's entry: its arguments, then its files, then the seal."""
    args = manifests.entry_args(spec, options)
    files = [f"put.{name}={data}" for name, data in manifests.run_files(spec).items()]
    return " ".join([*args, *files, "sealed=1"]).encode() + b"\n"


def claim_patch(spec: RunSpec, pod: dict, options: dict, *, now: datetime) -> dict:
    """Take an idle pod for ``spec``: only if it is unchanged since it was read (its
    resourceVersion), no longer its executor's (it goes with the run now), and with a deadline
    that fits the run (the kubelet counts it from the pod's start)."""
    start_time = pod["status"].get("startTime")
    started = status.parse_time(start_time) if start_time else now
    deadline = math.ceil((now - started).total_seconds() + spec.limits.wall_seconds + options["deadline_grace"])
    deadline = min(deadline, pod["spec"]["activeDeadlineSeconds"])
    execution = manifests.labels(spec)[manifests.EXECUTION_LABEL]
    labels = {POOL_LABEL: CLAIMED, manifests.EXECUTION_LABEL: execution}
    return {
        "metadata": {
            "resourceVersion": pod["metadata"]["resourceVersion"],
            "labels": labels,
            "ownerReferences": None,
        },
        "spec": {"activeDeadlineSeconds": deadline},
    }


def is_idle(pod: dict) -> bool:
    return (pod["metadata"].get("labels") or {}).get(POOL_LABEL) == IDLE
