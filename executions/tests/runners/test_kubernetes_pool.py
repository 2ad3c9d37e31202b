"""The warm pool of the Kubernetes runner against the fake API server (``fake_kube_api.py``):
idle pods running the real entry, claimed with a resourceVersion-guarded patch, the run
delivered over pods/attach in Kubernetes' WebSocket stream protocol as the official client
speaks it, then followed like any run."""

from __future__ import annotations

import copy
import hashlib
import os
import subprocess
import sys
import threading
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from conftest import wait_until
from executions.runners.base import FileCaps, Limits, RunFile, Stream
from executions.runners.kubernetes import pool_objects
from executions.runners.kubernetes.pool import OWNER_STALE
from executions.runners.kubernetes.runner import KubernetesRunner
from executions.tests.runners.conftest import IMAGE
from executions.tests.runners.fake_kube_api import ENTRY, Fault, Run
from executions.tests.runners.test_kubernetes_scenarios import (
    LIMITS,
    RunnerScenarios,
    run,
    spec,
    validate_manifest,
)

# The shapes the shared scenarios run at: each gets an idle pod of its own.
SCENARIO_SHAPES = [
    (LIMITS, None),
    (LIMITS, FileCaps(20, 1 << 20, 1 << 20)),
    (LIMITS, FileCaps(count=2, total_bytes=100, file_bytes=100)),
    (replace(LIMITS, memory_mb=64), None),
    (replace(LIMITS, output_bytes=4096), None),
]


def tier(limits: Limits = LIMITS, file_caps: FileCaps | None = None, *, idle: int = 1) -> dict:
    return {
        "runtime": "python3.13",
        "idle": idle,
        "limits": asdict(limits),
        "file_caps": asdict(file_caps) if file_caps else None,
    }


@pytest.fixture
def make_warm(make_runner):
    """A runner with a warm pool of ``tiers`` (one idle python3.13 pod at LIMITS by default),
    started as a dispatcher starts it (``make_runner`` closes it after the test)."""

    def make(*tiers: dict, **options) -> KubernetesRunner:
        runner = make_runner(pool=list(tiers) or [tier()], pool_owner="executor-1", **options)
        runner.prepare()
        return runner

    return make


def ready(runner: KubernetesRunner, count: int = 1, *, key: str | None = None) -> None:
    def enough() -> bool:
        idle = runner.pool.idle()
        return (idle[key] if key else sum(idle.values())) >= count

    wait_until(enough, timeout=30, message=f"{count} idle pod(s) running")


def key_of(runner: KubernetesRunner, limits: Limits = LIMITS, file_caps: FileCaps | None = None) -> str:
    wanted = pool_objects.shape("python3.13", limits, file_caps)
    tiers = runner.pool.tiers.items()
    return next(key for key, t in tiers if pool_objects.shape(t.runtime, t.limits, t.file_caps) == wanted)


class WarmOnly:
    """The runner, for the shared scenarios: every run waits for its idle pod and must get it."""

    def __init__(self, runner: KubernetesRunner):
        self.runner, self.api = runner, runner.api

    def start(self, run_spec, sink):
        ready(self.runner, key=key_of(self.runner, run_spec.limits, run_spec.file_caps))
        sandbox = self.runner.start(run_spec, sink)
        assert sandbox.warm, "the run took a cold pod"
        return sandbox


class TestWarmPodsAgainstTheFakeApi(RunnerScenarios):
    @pytest.fixture
    def runner(self, make_warm):
        return WarmOnly(make_warm(*(tier(limits, caps) for limits, caps in SCENARIO_SHAPES)))


def _counter(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(f"integr8scode_{name}", labels) or 0.0


# --- claiming ------------------------------------------------------------------------------


def test_a_run_takes_an_idle_pod_with_one_guarded_patch_and_gets_its_script_over_attach(make_warm, fake):
    runner = make_warm()
    ready(runner)
    (idle,) = [copy.deepcopy(pod) for pod in fake.pods.values() if pool_objects.is_idle(pod)]
    hits = _counter("sandbox_pool_claims_total", runtime="python3.13", outcome="hit")
    result, sink = run(runner, "print(input() * 2)", stdin="ab\n", execution_id="exec-warm")
    assert result.succeeded and sink.text(Stream.STDOUT) == "abab\n"
    assert result.extra["warm"] and result.extra["pod"] == idle["metadata"]["name"]
    assert _counter("sandbox_pool_claims_total", runtime="python3.13", outcome="hit") == hits + 1
    ((name, patch),) = fake.patches
    assert name == idle["metadata"]["name"]
    assert patch["metadata"]["resourceVersion"] == idle["metadata"]["resourceVersion"]
    claimed = {pool_objects.POOL_LABEL: "claimed", "integr8scode.io/execution-id": "exec-warm"}
    assert patch["metadata"]["labels"] == claimed
    assert patch["metadata"]["ownerReferences"] is None  # the run's now, not the executor's
    # The run's deadline: its wall limit and grace from now, far below the idle pod's.
    assert patch["spec"]["activeDeadlineSeconds"] <= LIMITS.wall_seconds + 30 + 2
    assert idle["spec"]["activeDeadlineSeconds"] > 600
    ((attached, protocol, line),) = fake.attached
    assert (attached, protocol) == (name, "v5.channel.k8s.io")
    assert line.endswith(b" sealed=1\n") and b"put.main.py=" in line and b"put.stdin=" in line
    # No ConfigMap, no exec; the pod went with the run.
    assert not [body for body in fake.created if body["kind"] == "ConfigMap" and "sandbox-" in body["metadata"]["name"]]
    assert fake.count("POST", r"/exec$") == 0 and fake.count("GET", r"/exec$") == 0
    assert fake.count("DELETE", rf"/pods/{name}$") == 1


def test_an_idle_pod_and_its_claim_are_valid_for_every_supported_kubernetes(make_warm, fake):
    runner = make_warm(runtime_class="gvisor", node_selector={"pool": "sandbox"})
    ready(runner)
    idle = [body for body in fake.created if body["kind"] == "Pod"]
    owner = [body for body in fake.created if body["kind"] == "ConfigMap"]
    assert len(idle) == 1 and len(owner) == 1
    for body in idle + owner:
        validate_manifest(body)
    container = idle[0]["spec"]["containers"][0]
    assert container["stdin"] and container["stdinOnce"] and not container.get("tty")
    assert container["securityContext"]["readOnlyRootFilesystem"] and idle[0]["spec"]["hostUsers"] is False
    assert idle[0]["metadata"]["ownerReferences"][0]["kind"] == "ConfigMap"
    claimed = dict(idle[0], metadata=dict(idle[0]["metadata"], resourceVersion="7"), status={})
    patch = pool_objects.claim_patch(spec("pass"), claimed, runner.options, now=datetime.now(UTC))
    validate_manifest({**claimed, "metadata": {**claimed["metadata"], **patch["metadata"]}, "spec": claimed["spec"]})


def test_with_no_idle_pod_ready_the_run_takes_a_cold_pod(make_warm, fake):
    fake.behaviour = Run(start_delay=30)  # idle pods never get running
    runner = make_warm()
    fake.behaviour = Run()
    misses = _counter("sandbox_pool_claims_total", runtime="python3.13", outcome="miss")
    result, _ = run(runner, "print('cold')")
    assert result.succeeded and not result.extra["warm"]
    assert _counter("sandbox_pool_claims_total", runtime="python3.13", outcome="miss") == misses + 1


def test_a_run_of_another_shape_takes_a_cold_pod(make_warm, fake):
    runner = make_warm()
    ready(runner)
    result, _ = run(runner, "print('big')", memory_mb=256)  # the pod's memory cannot change
    assert result.succeeded and not result.extra["warm"]
    assert not fake.patches


def test_a_pod_changed_since_it_was_listed_is_read_again_before_it_is_claimed(make_warm, fake):
    runner = make_warm()
    ready(runner)
    (idle,) = [pod for pod in fake.pods.values() if pool_objects.is_idle(pod)]
    fake.update_pod(idle["metadata"]["name"], lambda pod: pod["metadata"].setdefault("annotations", {}))
    result, _ = run(runner, "print('still mine')")
    assert result.succeeded and result.extra["warm"]
    assert fake.count("PATCH", rf"/pods/{idle['metadata']['name']}$") == 2  # 409, then the current version


def test_a_pod_another_took_meanwhile_is_not_claimed_twice(make_warm, fake):
    runner = make_warm()
    ready(runner)
    (idle,) = [pod for pod in fake.pods.values() if pool_objects.is_idle(pod)]
    # Someone else's claim lands between the pool's listing and ours.
    taken = {"metadata": {"labels": {pool_objects.POOL_LABEL: "claimed"}}}
    assert fake.patch_pod(idle["metadata"]["name"], taken) is None
    result, _ = run(runner, "print('cold then')")
    assert result.succeeded and not result.extra["warm"]


def test_concurrent_runs_never_share_a_pod(make_warm, fake):
    runner = make_warm(tier(idle=4))
    ready(runner, 4)
    results = []

    def one(number: int) -> None:
        results.append(run(runner, f"print({number})", execution_id=f"exec-{number}"))

    threads = [threading.Thread(target=one, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(sink.text(Stream.STDOUT) for _, sink in results) == ["0\n", "1\n", "2\n", "3\n"]
    pods = [result.extra["pod"] for result, _ in results if result.extra["warm"]]
    assert len(pods) == len(set(pods)) >= 3  # one claim may lose its race to the refill's listing
    claimed = [name for name, patch in fake.patches]
    assert len(claimed) == len(set(claimed))


def test_an_attach_that_fails_deletes_the_idle_pod_and_the_run_goes_cold(make_warm, fake):
    runner = make_warm()
    ready(runner)
    (idle,) = [pod["metadata"]["name"] for pod in fake.pods.values() if pool_objects.is_idle(pod)]
    fake.faults.append(Fault("GET", r"/attach$", status=500, times=5))
    result, sink = run(runner, "print('delivered cold')")
    assert result.succeeded and not result.extra["warm"] and sink.text(Stream.STDOUT) == "delivered cold\n"
    wait_until(lambda: idle not in fake.pods, timeout=10, message="the idle pod that took no run to go")


# --- refilling and draining ------------------------------------------------------------------


def test_a_claimed_pod_is_replaced(make_warm, fake):
    runner = make_warm(tier(idle=2))
    ready(runner, 2)
    before = {name for name, pod in fake.pods.items() if pool_objects.is_idle(pod)}
    run(runner, "print(1)")
    wait_until(
        lambda: len({n for n, p in fake.pods.items() if pool_objects.is_idle(p)} - before) == 1,
        timeout=30,
        message="a new idle pod",
    )
    ready(runner, 2)


def test_idle_pods_past_their_ttl_are_replaced(make_warm, fake):
    runner = make_warm(pool_ttl=3)
    ready(runner)
    (first,) = [name for name, pod in fake.pods.items() if pool_objects.is_idle(pod)]
    wait_until(lambda: first not in fake.pods, timeout=30, message="the expired idle pod to go")
    ready(runner)


def test_a_changed_configuration_drains_the_old_idle_pods(make_warm, fake):
    old = make_warm()
    ready(old)
    old_pods = {name for name, pod in fake.pods.items() if pool_objects.is_idle(pod)}
    old.pool._stopping.set()  # the old process stops refilling without saying goodbye
    new = make_warm(runtime_images={"python3.13": IMAGE + "-v2"})  # the same executor, restarted
    ready(new)
    wait_until(lambda: not old_pods & set(fake.pods), timeout=30, message="the old idle pods to go")
    images = {pod["spec"]["containers"][0]["image"] for pod in fake.pods.values() if pool_objects.is_idle(pod)}
    assert images == {IMAGE + "-v2"}


def test_closing_lets_the_idle_pods_go_with_their_owner(make_warm, fake):
    runner = make_warm(tier(idle=2))
    ready(runner, 2)
    runner.close()
    assert not [name for name in fake.config_maps if name.startswith("pool-owner-")]
    wait_until(lambda: not fake.pods, timeout=10, message="the garbage collector to take the idle pods")


# --- the reaper ----------------------------------------------------------------------------


def test_the_reaper_keeps_live_idle_pods_and_takes_those_of_a_gone_executor(make_warm, fake):
    runner = make_warm()
    ready(runner)
    assert runner.reap(older_than=timedelta(0), finished=lambda ids: set(ids)) == 0
    assert [pod for pod in fake.pods.values() if pool_objects.is_idle(pod)]
    runner.pool._stopping.set()  # the executor dies: no goodbye, no more heartbeats
    owner = fake.config_maps["pool-owner-executor-1"]
    stale = datetime.now(UTC) - OWNER_STALE - timedelta(seconds=5)
    owner["metadata"]["annotations"][pool_objects.HEARTBEAT_ANNOTATION] = pool_objects.stamp(stale)
    runner.reap(older_than=timedelta(hours=1))
    assert "pool-owner-executor-1" not in fake.config_maps
    wait_until(lambda: not fake.pods, timeout=10, message="the garbage collector to take the idle pods")


def test_the_reaper_takes_idle_pods_that_ended(make_warm, fake):
    fake.behaviour = Run(deadline_after=0.2)  # the kubelet ends them (their deadline)
    runner = make_warm()
    runner.pool._stopping.set()
    wait_until(lambda: any(pool_objects.is_idle(p) for p in fake.pods.values()), timeout=10, message="an idle pod")
    (name,) = fake.pods
    wait_until(lambda: fake.pods[name]["status"]["phase"] == "Failed", timeout=10, message="the pod to end")
    assert runner.reap(older_than=timedelta(hours=1)) == 1


# --- the entry's side ------------------------------------------------------------------------


@pytest.mark.parametrize("sealed", [True, False])
def test_the_entry_runs_only_a_whole_line_of_settings(tmp_path, sealed):
    """A line cut short (the runner gone mid-way) runs nothing and writes nothing."""
    files = tmp_path / "sandbox"
    files.mkdir()
    line = f"script={files}/main.py put.main.py=cHJpbnQoJ29rJyk= wall=5 cpu=5" + (" sealed=1" if sealed else "")
    entry = subprocess.run(
        [sys.executable, "-I", "-S", str(ENTRY), "settings=-", f"unpack={files}"],
        input=line.encode() + (b"\n" if sealed else b""),
        capture_output=True,
        timeout=30,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
    )
    if sealed:
        assert entry.returncode == 0 and b"O b2sK\n" in entry.stdout  # "ok\n"
        assert (files / "main.py").read_text() == "print('ok')"
    else:
        assert entry.returncode == 125 and not (files / "main.py").exists()


def test_the_entry_refuses_a_file_name_outside_its_directory(tmp_path):
    files = tmp_path / "sandbox"
    files.mkdir()
    line = b"script=/dev/null put...=eA== sealed=1\n"
    entry = subprocess.run(
        [sys.executable, "-I", "-S", str(ENTRY), "settings=-", f"unpack={files}"],
        input=line,
        capture_output=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert entry.returncode == 125 and sorted(path.name for path in tmp_path.iterdir()) == ["sandbox"]


def test_nearly_a_config_maps_worth_of_files_reaches_a_warm_pod_whole(make_warm, fake):
    """~900 KB of binary data, base64 in the settings line (~1.2 MB over attach, in several
    messages), written by the entry before the script starts."""
    caps = FileCaps(20, 1 << 20, 1 << 20)
    runner = make_warm(tier(LIMITS, caps))
    ready(runner)
    data = bytes(range(256)) * 3500
    script = "import hashlib\nprint(hashlib.sha256(open('in/blob.bin', 'rb').read()).hexdigest())"
    result, sink = run(runner, script, files=[RunFile("in/blob.bin", data)], file_caps=caps)
    assert result.succeeded and result.extra["warm"], result
    assert sink.text(Stream.STDOUT).strip() == hashlib.sha256(data).hexdigest()
