"""The warm pool: idle sandbox pods, per tier, kept ready by one thread and claimed one run each.

The refill thread looks at the executor's idle pods, as the runner's shared watch sees them,
every ``REFILL_INTERVAL`` (at once when a claim took one), deletes those made for another
configuration (their shape key), past their TTL, ended, or that did not start within the image
pull timeout, and creates what each tier lacks. A claim takes the oldest running idle pod of
the run's tier with one merge patch that names the pod's resourceVersion: it applies only if
nothing changed the pod since it was seen (409 otherwise, and the next one is tried), labels it
with the execution, removes it from the executor's ownership and lowers its deadline to the
run's. No pod serves two runs: a claimed pod is never idle again. No idle pod fitting: the run
takes a cold pod (a miss).

The executor's owner ConfigMap is renewed every ``HEARTBEAT_SECONDS``; ``close`` deletes it,
and with it (the garbage collector) the idle pods.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

from kubernetes.client.exceptions import ApiException

from executions import metrics
from executions.runners.base import RunSpec
from executions.runners.kubernetes import pool_objects, status
from executions.runners.kubernetes.client import KubeApi, describe, is_not_found
from executions.runners.kubernetes.informer import PodInformer
from executions.runners.kubernetes.pool_objects import IDLE, OWNER_LABEL, POOL_LABEL, SHAPE_LABEL, Tier

log = logging.getLogger(__name__)

REFILL_INTERVAL = 1.0  # seconds between looks at the pool when no claim wakes it
HEARTBEAT_SECONDS = 30.0
# The reaper deletes an owner ConfigMap not renewed for this long: its executor is gone.
OWNER_STALE = timedelta(seconds=5 * HEARTBEAT_SECONDS)
RECENTLY_CLAIMED = 256  # names kept to skip in a listing made before their claim


class WarmPool:
    def __init__(self, api: KubeApi, informer: PodInformer, options: dict, *, identity: str | None = None):
        self.api, self.informer, self.options = api, informer, options
        self.identity = identity or pool_objects.identity_of(socket.gethostname(), os.getpid())
        self.tiers = {pool_objects.shape_key(tier, options): tier for tier in pool_objects.tiers_from(options)}
        self._ready: dict[str, list[dict]] = {key: [] for key in self.tiers}
        self._created: dict[str, tuple[str, float]] = {}  # made, not seen running yet -> tier key, when
        self._claimed: list[str] = []
        self._owner_uid: str | None = None
        self._renewed = 0.0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None and self.tiers:
            self._thread = threading.Thread(target=self._loop, name="kubernetes-warm-pool", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop refilling and let the idle pods go (their owner, then the GC takes them)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._owner_uid is not None:
            try:
                self.api.delete_config_map(pool_objects.owner_name(self.identity))
            except Exception as exc:  # the reaper deletes it once it is stale
                log.warning("deleting the warm pool's owner failed: %s", describe(exc))

    def idle(self) -> dict[str, int]:
        """Running idle pods per tier key."""
        with self._lock:
            return {key: len(pods) for key, pods in self._ready.items()}

    # --- claiming -----------------------------------------------------------------------

    def claim(self, spec: RunSpec) -> dict | None:
        """An idle pod now the run's (as patched), or None: none fits, or none is ready."""
        key = next((key for key, tier in self.tiers.items() if pool_objects.fits(tier, spec)), None)
        if key is None:
            return None
        began = time.monotonic()
        try:
            while True:
                with self._lock:
                    if not self._ready[key]:
                        metrics.pool_claims.labels(spec.runtime, "miss").inc()
                        return None
                    pod = self._ready[key].pop(0)
                    self._claimed = [*self._claimed[-RECENTLY_CLAIMED:], pod["metadata"]["name"]]
                claimed = self._take(spec, pod)
                if claimed is not None:
                    metrics.pool_claims.labels(spec.runtime, "hit").inc()
                    metrics.pool_claim_seconds.labels(spec.runtime).observe(time.monotonic() - began)
                    return claimed
        finally:
            self._wake.set()  # a refill: what was taken, or what turned out not to be there

    def _take(self, spec: RunSpec, pod: dict) -> dict | None:
        name = pod["metadata"]["name"]
        for _ in range(2):
            patch = pool_objects.claim_patch(spec, pod, self.options, now=datetime.now(UTC))
            try:
                claimed = self.api.patch_pod(name, patch)
            except ApiException as exc:
                if exc.status != 409:  # gone (404), or refused: not this one
                    log.info("claiming idle pod %s failed: %s", name, describe(exc))
                    return None
                pod = self._reread(name)  # changed since it was listed: still idle and running?
                if pod is None:
                    return None
                continue
            except Exception as exc:
                log.warning("claiming idle pod %s failed: %s", name, describe(exc))
                return None
            if status.container_state(claimed)[0] == "running" and not claimed["metadata"].get("deletionTimestamp"):
                return claimed
            self._delete(name)  # it ended while idle (its deadline, its node): now no one's
            return None
        return None

    def _reread(self, name: str) -> dict | None:
        try:
            pod = self.api.read_pod(name)
        except Exception:
            return None
        return pod if _ready(pod) else None

    # --- refilling ----------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._refill()
            except Exception as exc:
                log.warning("refilling the warm pool failed: %s", describe(exc))
            self._wake.wait(REFILL_INTERVAL)
            self._wake.clear()

    def _refill(self) -> None:
        now = datetime.now(UTC)
        owner_uid = self._renew_owner(now)
        if not self.informer.wait_synced(timeout=REFILL_INTERVAL * 10):
            return  # the watch has not listed the pods yet: nothing to count on
        pods = self.informer.pods(self._mine)
        with self._lock:
            claimed = set(self._claimed)
        ready: dict[str, list[dict]] = {key: [] for key in self.tiers}
        starting = dict.fromkeys(self.tiers, 0)
        seen = {pod["metadata"]["name"] for pod in pods}
        for name, (key, _) in list(self._created.items()):
            if self.informer.get(name)[1]:
                self._created.pop(name, None)  # gone before it ever ran
            elif name not in seen and key in starting:
                starting[key] += 1  # created, and not in the watch's view yet
        for pod in sorted(pods, key=lambda pod: pod["metadata"]["creationTimestamp"]):
            name, key = pod["metadata"]["name"], pod["metadata"]["labels"].get(SHAPE_LABEL)
            if name in claimed or pod["metadata"].get("deletionTimestamp"):
                continue
            if key not in self.tiers or self._spent(pod, now):
                self._delete(name)
            elif _ready(pod):
                ready[key].append(pod)
                self._refilled(name, key)
            else:
                starting[key] += 1
        with self._lock:
            self._ready = ready
        for key, tier in self.tiers.items():
            for _ in range(tier.idle - len(ready[key]) - starting[key]):
                self._create(tier, owner_uid)
            labels = (tier.runtime, str(tier.limits.memory_mb))
            metrics.pool_pods.labels(*labels, "ready").set(len(ready[key]))
            metrics.pool_pods.labels(*labels, "starting").set(starting[key])

    def _mine(self, pod: dict) -> bool:
        labels = pod["metadata"].get("labels") or {}
        return labels.get(POOL_LABEL) == IDLE and labels.get(OWNER_LABEL) == self.identity

    def _spent(self, pod: dict, now: datetime) -> bool:
        """Past its TTL, ended, or not started within the image pull timeout."""
        age = (now - status.created_at(pod)).total_seconds()
        if age > self.options["pool_ttl"] or status.is_finished(pod):
            return True
        return not status.has_started(pod) and age > self.options["image_pull_timeout"]

    def _refilled(self, name: str, key: str) -> None:
        made = self._created.pop(name, None)
        if made is not None:
            metrics.pool_refill_seconds.labels(self.tiers[key].runtime).observe(time.monotonic() - made[1])

    def _create(self, tier: Tier, owner_uid: str) -> None:
        body = pool_objects.idle_pod(tier, self.options, identity=self.identity, owner_uid=owner_uid)
        name = body["metadata"]["name"]
        self._created[name] = (body["metadata"]["labels"][SHAPE_LABEL], time.monotonic())
        try:
            self.informer.observe(self.api.create_pod(body))
        except Exception:
            self._created.pop(name, None)
            raise

    def _renew_owner(self, now: datetime) -> str:
        name = pool_objects.owner_name(self.identity)
        if self._owner_uid is not None and time.monotonic() - self._renewed < HEARTBEAT_SECONDS:
            return self._owner_uid
        if self._owner_uid is not None:
            try:
                self.api.patch_config_map(name, pool_objects.heartbeat_patch(now))
            except ApiException as exc:
                if not is_not_found(exc):
                    raise
                self._owner_uid = None  # reaped as stale (a long pause): its pods went with it
        if self._owner_uid is None:
            body = pool_objects.owner_config_map(self.identity, self.options, now=now)
            owner = self.api.create_or_read_config_map(body)
            self._owner_uid = owner["metadata"]["uid"]
        self._renewed = time.monotonic()
        return self._owner_uid

    def _delete(self, name: str) -> None:
        self._created.pop(name, None)
        try:
            self.api.delete_pod(name)
        except Exception as exc:  # the next refill, or the reaper, tries again
            log.warning("deleting idle pod %s failed: %s", name, describe(exc))


def _ready(pod: dict) -> bool:
    """Idle, its container running, not being deleted."""
    running = status.container_state(pod)[0] == "running" and not pod["metadata"].get("deletionTimestamp")
    return running and pool_objects.is_idle(pod)
