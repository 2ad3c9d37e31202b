"""The Kubernetes runner against a fake API server (``fake_kube_api.py``): the real client,
real HTTP, a real framed log from the real entry; only the cluster is pretend."""

from __future__ import annotations

import base64
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from conftest import wait_until
from executions import services
from executions.caller import Caller
from executions.documents import Execution, Status
from executions.engine import Dispatcher
from executions.runners.base import ErrorType, FileCaps, RunFile, RunnerError, RunResult, Stream
from executions.runners.kubernetes import manifests as kube_manifests
from executions.runners.kubernetes import runner as kube_runner
from executions.runners.kubernetes import status
from executions.runners.kubernetes.client import NO_CONFIG
from executions.runners.outcome import Flag
from executions.tests.runners import fake_kube_api
from executions.tests.runners.conftest import IMAGE
from executions.tests.runners.fake_kube_api import Each, Fault, LogCut, Run, Stuck
from executions.tests.runners.test_kubernetes_scenarios import (
    RecordingSink,
    RunnerScenarios,
    _wait_in_thread,
    run,
    spec,
    validate_manifest,
)


@pytest.fixture
def runner(make_runner):
    return make_runner()


class TestAgainstTheFakeApi(RunnerScenarios):
    pass


# --- what the runner creates ---------------------------------------------------------------


def test_the_config_map_is_owned_by_the_pod_it_feeds(runner, fake):
    sandbox = runner.start(spec("print(1)"), RecordingSink())
    pod = fake.pods[sandbox.plan.name]
    owners = fake.config_maps[sandbox.plan.name]["metadata"]["ownerReferences"]
    expected = [("Pod", pod["metadata"]["name"], pod["metadata"]["uid"])]
    assert [(owner["kind"], owner["name"], owner["uid"]) for owner in owners] == expected
    sandbox.wait()


def test_every_object_the_runner_creates_is_valid_for_every_supported_kubernetes(make_runner, fake):
    runner = make_runner(runtime_class="gvisor", node_selector={"pool": "sandbox"}, image_pull_secrets=["regcred"])
    result, _ = run(runner, "print(input())", stdin="with stdin\n")
    assert result.succeeded
    assert sorted(body["kind"] for body in fake.created) == ["ConfigMap", "Pod"]
    for body in fake.created:
        validate_manifest(body)


def test_the_pod_and_config_map_are_deleted_when_the_run_ends(runner, fake):
    run(runner, "print('done')")
    assert fake.config_maps == {}
    # Deleted with a grace period: terminating until its kubelet confirms, then gone.
    (pod,) = fake.pods.values() or [{"metadata": {"deletionTimestamp": "gone already"}}]
    assert pod["metadata"]["deletionTimestamp"]
    wait_until(lambda: not fake.pods, timeout=5, message="the kubelet to confirm the deletion")
    assert fake.count("DELETE", r"/pods/sandbox-") == 1 and fake.count("DELETE", r"/configmaps/sandbox-") == 1
    assert "gracePeriodSeconds=2" in fake.queries("DELETE", r"/pods/sandbox-")[0]


def test_the_pod_log_is_followed_only_once_the_container_started(runner, fake):
    fake.behaviour = Run(pull_failures=2)
    result, _ = run(runner, "print('late')")
    assert result.succeeded
    assert fake.count("GET", r"/log$") == 1


# --- how runs end -------------------------------------------------------------------------


def test_a_container_oom_killed_fails_with_memory_limit_and_keeps_its_output(runner, fake):
    fake.behaviour = Run(oom_on_output=True)
    result, sink = run(runner, "import time\nprint('allocating', flush=True)\ntime.sleep(60)")
    assert (result.error_type, result.message) == (ErrorType.MEMORY_LIMIT, status.MEMORY_EXCEEDED)
    assert sink.text(Stream.STDOUT) == "allocating\n"


def test_the_pod_deadline_fails_the_run_with_timeout(runner, fake):
    fake.behaviour = Run(deadline_after=0.2)
    result, _ = run(runner, "import time; time.sleep(60)", wall_seconds=30)
    assert (result.error_type, result.message) == (ErrorType.TIMEOUT, status.DEADLINE_EXCEEDED)


def test_an_eviction_for_disk_use_is_the_scripts_failure(runner, fake):
    message = "Pod ephemeral local storage usage exceeds the total limit of containers 20Mi."
    fake.behaviour = Run(evict_on_output=message)
    result, _ = run(runner, "import time\nprint('filling', flush=True)\ntime.sleep(60)")
    assert (result.error_type, result.message) == (ErrorType.DISK_LIMIT, status.DISK_EXCEEDED.format(detail=message))


def test_an_eviction_for_node_pressure_is_a_system_error(runner, fake):
    message = "The node was low on resource: memory."
    fake.behaviour = Run(evict_on_output=message)
    result, _ = run(runner, "import time\nprint('working', flush=True)\ntime.sleep(60)")
    assert (result.error_type, result.message) == (ErrorType.SYSTEM_ERROR, status.EVICTED.format(detail=message))


def test_a_sandbox_still_running_past_the_host_deadline_is_deleted_as_timeout(make_runner, fake, monkeypatch):
    # An entry that never reports: the wall limit it was given is ignored by this fake.
    runner = make_runner(host_grace=0.1)
    entry_args = kube_manifests.entry_args
    monkeypatch.setattr(
        kube_manifests,
        "entry_args",
        lambda spec, options: ["wall=60" if arg.startswith("wall=") else arg for arg in entry_args(spec, options)],
    )
    result, _ = run(runner, "import time; time.sleep(60)", wall_seconds=0.2)
    assert (result.error_type, result.message) == (ErrorType.TIMEOUT, status.HOST_TIMEOUT)
    wait_until(lambda: not fake.pods, timeout=5, message="the pod to go")


# --- pods that never start ------------------------------------------------------------------


def test_an_image_that_cannot_be_pulled_fails_the_run_after_the_bounded_wait(make_runner, fake):
    detail = 'failed to pull image "x": registry unavailable'
    fake.behaviour = Stuck("ImagePullBackOff", detail)
    started = time.monotonic()
    result, _ = run(make_runner(image_pull_timeout=0.5), "print(1)")
    assert time.monotonic() - started >= 0.5
    expected = status.IMAGE_PULL_FAILED.format(image=IMAGE, seconds=0.5, detail=f"ImagePullBackOff: {detail}")
    assert (result.error_type, result.message) == (ErrorType.SYSTEM_ERROR, expected)
    wait_until(lambda: not fake.pods, timeout=5, message="the kubelet to confirm the deletion")


def test_an_image_pull_that_fails_for_a_while_is_waited_out(runner, fake):
    fake.behaviour = Run(pull_failures=3)
    result, sink = run(runner, "print('pulled at last')")
    assert result.succeeded and sink.text(Stream.STDOUT) == "pulled at last\n"


def test_an_invalid_image_name_fails_at_once(runner, fake):
    fake.behaviour = Stuck("InvalidImageName", 'couldn\'t parse image name "Not An Image"')
    started = time.monotonic()
    result, _ = run(runner, "print(1)")
    assert time.monotonic() - started < 10  # the bounded wait is 30 s
    assert result.error_type == ErrorType.SYSTEM_ERROR
    assert result.message.startswith(status.IMAGE_INVALID.format(image=IMAGE, detail="InvalidImageName"))


def test_an_unschedulable_pod_fails_with_the_schedulers_reason(make_runner, fake):
    fake.behaviour = Stuck()
    result, _ = run(make_runner(image_pull_timeout=0.3), "print(1)")
    detail = "Unschedulable: 0/3 nodes are available: 3 Insufficient memory."
    assert result.message == status.NOT_STARTED.format(seconds=0.3, detail=detail)


# --- API errors and retries -----------------------------------------------------------------


@pytest.mark.parametrize("code", [500, 503, 429])
def test_transient_api_errors_on_create_are_retried(runner, fake, code):
    fake.faults.append(Fault("POST", r"/pods$", status=code, times=2, retry_after=0.01))
    result, _ = run(runner, "print('third time lucky')")
    assert result.succeeded
    assert fake.count("POST", r"/pods$") == 3


def test_api_errors_that_persist_are_a_retryable_runner_error(runner, fake):
    fake.faults.append(Fault("POST", r"/pods$", status=503, times=100))
    with pytest.raises(RunnerError) as raised:
        runner.start(spec("print(1)"), RecordingSink())
    assert not raised.value.permanent
    assert raised.value.message.startswith(status.CREATE_FAILED.format(error="503"))


def test_a_forbidden_create_is_a_permanent_runner_error(runner, fake):
    fake.faults.append(Fault("POST", r"/pods$", status=403, message='pods is forbidden: User "x" cannot create'))
    with pytest.raises(RunnerError) as raised:
        runner.start(spec("print(1)"), RecordingSink())
    assert raised.value.permanent and "cannot create" in raised.value.message


def test_an_exceeded_quota_is_worth_trying_again_later(runner, fake):
    fake.faults.append(Fault("POST", r"/pods$", status=403, message="exceeded quota: sandboxes, requested: pods=1"))
    with pytest.raises(RunnerError) as raised:
        runner.start(spec("print(1)"), RecordingSink())
    assert not raised.value.permanent


def test_a_config_map_that_cannot_be_created_takes_its_pod_with_it(runner, fake):
    fake.faults.append(Fault("POST", r"/configmaps$", status=422, message="ConfigMap is invalid"))
    with pytest.raises(RunnerError) as raised:
        runner.start(spec("print(1)"), RecordingSink())
    assert raised.value.permanent
    assert fake.pods == {}


def test_a_failed_watch_request_is_retried(runner, fake):
    fake.faults.append(Fault("GET", r"/pods$", status=500))
    result, _ = run(runner, "print('watched')")
    assert result.succeeded


@pytest.mark.parametrize("abrupt", [True, False], ids=["dropped", "ended early"])
def test_a_log_stream_cut_mid_run_resumes_without_losing_or_repeating_output(runner, fake, abrupt):
    fake.log_cuts.append(LogCut(lines=5, abrupt=abrupt))
    script = "import time\nfor i in range(40):\n    print(i, flush=True)\n    time.sleep(0.005)"
    result, sink = run(runner, script)
    assert result.succeeded, result
    assert sink.text(Stream.STDOUT) == "".join(f"{i}\n" for i in range(40))
    assert fake.count("GET", r"/log$") == 2


# --- the runner as a whole ------------------------------------------------------------------


def test_an_unknown_runtime_is_a_permanent_runner_error(runner):
    with pytest.raises(RunnerError) as raised:
        runner.start(replace(spec("print(1)"), runtime="cobol"), RecordingSink())
    assert raised.value.permanent


def test_no_runtime_is_interactive_on_kubernetes(runner):
    """No attach to a pod's stdin: GET /api/v1/runtimes says so, and the editor runs in batch."""
    assert runner.runtimes() and not any(info.interactive for info in runner.runtimes().values())


def test_check_names_a_missing_kubeconfig(make_runner, tmp_path):
    missing = str(tmp_path / "nope")
    assert make_runner(kubeconfig=missing).check() == [NO_CONFIG.format(path=missing)]


def test_check_is_quiet_when_the_configuration_loads(runner):
    assert runner.check() == []


def test_reap_removes_sandboxes_older_than_the_threshold(runner, fake):
    fake.behaviour = Stuck("ContainerCreating")
    sandboxes = [runner.start(spec("print(1)", execution_id=f"exec-{n}"), RecordingSink()) for n in range(2)]
    assert runner.reap(older_than=timedelta(hours=1)) == 0
    assert runner.reap(older_than=timedelta(seconds=-1)) == 2
    assert (fake.pods, fake.config_maps) == ({}, {})
    for sandbox in sandboxes:
        sandbox.stop()


def test_reap_removes_the_sandboxes_of_finished_executions(runner, fake):
    fake.behaviour = Stuck("ContainerCreating")
    for n in range(3):
        runner.start(spec("print(1)", execution_id=f"exec-{n}"), RecordingSink())
    removed = runner.reap(older_than=timedelta(hours=1), finished=lambda ids: {"exec-1"} & set(ids))
    assert removed == 1
    assert sorted(pod["metadata"]["labels"]["integr8scode.io/execution-id"] for pod in fake.pods.values()) == [
        "exec-0",
        "exec-2",
    ]


def test_reap_removes_config_maps_left_without_a_pod(runner, fake):
    fake.behaviour = Stuck("ContainerCreating")
    sandbox = runner.start(spec("print(1)"), RecordingSink())
    fake.pods.clear()  # as if the pod went and the garbage collector has not caught up
    assert runner.reap(older_than=timedelta(seconds=-1)) == 1
    assert fake.config_maps == {}
    sandbox.watch.stop()


# --- with the dispatcher ------------------------------------------------------------------------


def test_the_dispatcher_runs_an_execution_in_a_pod_from_queue_to_stored_result(runner, fake):
    script = "import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)"
    (done,) = _dispatched(runner, script)
    assert (done.status, done.error_message) == (Status.COMPLETED, "")
    assert (done.output, done.errors, done.runner) == ("to stdout\n", "to stderr\n", "kubernetes")
    assert done.peak_memory_kb > 0
    wait_until(lambda: (fake.pods, fake.config_maps) == ({}, {}), timeout=5, message="the sandbox to go")


def _dispatched(runner, *scripts: str, concurrency: int = 1) -> list[Execution]:
    """The scripts submitted to a dispatcher of their own, as stored once final."""
    dispatcher = Dispatcher(concurrency=concurrency, runner=runner)
    dispatcher.start()
    try:
        ids = [services.execution_submit(caller=Caller.internal(), script=s)[0].execution_id for s in scripts]
        return [wait_until(lambda i=i: _final(i), timeout=60, message="the executions to finish") for i in ids]
    finally:
        dispatcher.shutdown(grace=5)


def _final(execution_id: str) -> Execution | None:
    execution = Execution.objects(execution_id=execution_id).first()
    return execution if execution and execution.is_final else None


# --- forgery: the script attacks the entry, as PID 1 of the pod's PID namespace -------------------


FORGER = """
import ctypes, errno, os, resource, signal, sys
def attempt(name, action):
    try:
        action()
        print(f"{name}: ok", flush=True)
    except OSError as exc:
        print(f"{name}: {errno.errorcode.get(exc.errno, exc.errno)}", flush=True)
libc = ctypes.CDLL(None, use_errno=True)
def ptrace():
    if libc.ptrace(16, 1, 0, 0) < 0:
        raise OSError(ctypes.get_errno(), "")
print("parent", os.getppid(), "uid", os.getuid(), flush=True)
attempt("open the entry's stdout", lambda: os.open("/proc/1/fd/1", os.O_WRONLY))
attempt("ptrace the entry", ptrace)
attempt("read the entry's memory", lambda: open("/proc/1/mem", "rb").read(1))
attempt("limit the entry", lambda: resource.prlimit(1, resource.RLIMIT_CPU, (0, 0)))
attempt("kill the entry", lambda: os.kill(1, signal.SIGKILL))
forged = b"X exit=0 signal=- wall_ms=1 cpu_ms=-100000 maxrss_kb=1 stdout_truncated=0 stderr_truncated=0 reason=none\\n"
os.write(1, forged)
sys.exit(3)
"""


@pytest.mark.skipif(not fake_kube_api.AS_A_CONTAINER, reason="the fake kubelet runs pods as containers only as root")
def test_a_script_cannot_forge_its_result_from_inside_the_pod(runner, fake):
    result, sink = run(runner, FORGER)

    lines = sink.text(Stream.STDOUT).splitlines()
    uid = next(body for body in fake.created if body["kind"] == "Pod")["spec"]["securityContext"]["runAsUser"]
    assert lines[0] == f"parent 1 uid {uid}"  # the entry is PID 1, as in a pod
    assert lines[1:6] == [
        "open the entry's stdout: EACCES",
        "ptrace the entry: EPERM",
        "read the entry's memory: EACCES",
        "limit the entry: EPERM",
        "kill the entry: EPERM",
    ]
    assert lines[6].startswith("X exit=0")  # only output: framed as such by the entry
    assert (result.exit_code, result.error_type, result.flags) == (3, ErrorType.RUNTIME_ERROR, [])
    assert result.cpu_ms >= 0


def test_the_containers_exit_status_wins_over_a_record_that_disagrees(runner, fake):
    fake.behaviour = Run(report_exit_code=0)  # the kubelet saw the container exit 0, the record says 3
    result, _ = run(runner, "import sys\nsys.exit(3)")
    assert result.flags == [Flag.EXIT_STATUS]
    assert (result.exit_code, result.signal, result.succeeded) == (0, None, True)


# --- files -------------------------------------------------------------------------------------


def test_the_objects_of_a_run_with_files_are_valid_and_the_files_travel_in_its_config_map(runner, fake):
    given = [RunFile("in/data.csv", b"a,b\n"), RunFile("raw.bin", bytes(range(256)))]
    sink = RecordingSink()
    caps = FileCaps(count=5, total_bytes=1 << 20, file_bytes=1 << 20)
    result = runner.start(
        spec("print(open('raw.bin','rb').read() == bytes(range(256)))", files=given, file_caps=caps), sink
    ).wait()

    assert result.succeeded and sink.text(Stream.STDOUT) == "True\n"
    config_map = next(body for body in fake.created if body["kind"] == "ConfigMap")
    pod = next(body for body in fake.created if body["kind"] == "Pod")
    assert sorted(config_map["binaryData"]) == ["file-0", "file-1", "files", "main.py"]
    container = pod["spec"]["containers"][0]
    assert container["workingDir"] == "/work" and "collect=5,1048576,1048576" in container["command"]
    for body in fake.created:
        validate_manifest(body)


def test_file_records_a_script_prints_are_only_its_output(runner):
    forged = "F " + base64.b64encode(b"stolen.txt").decode() + " " + base64.b64encode(b"forged").decode()
    caps = FileCaps(count=5, total_bytes=1000, file_bytes=1000)
    sink = RecordingSink()
    result = runner.start(spec(f"print({forged!r})\nprint('T')", file_caps=caps), sink).wait()

    assert result.succeeded and sink.text(Stream.STDOUT) == f"{forged}\nT\n"
    assert (result.files, result.files_truncated) == ([], False)


# --- failures of ours: the cluster's doing, not the script's ------------------------------------


def _pod_name(fake) -> str:
    return wait_until(lambda: next(iter(fake.pods), None), timeout=10, message="a pod")


def _disrupted_run(runner, fake, disrupt) -> RunResult:
    sink = RecordingSink()
    sandbox = runner.start(spec("import time\nprint('working', flush=True)\ntime.sleep(60)"), sink)
    waiter = _wait_in_thread(sandbox)
    sink.wait_for(Stream.STDOUT, "working", timeout=30)
    disrupt(sandbox.plan.name)
    return waiter.result(timeout=30)


def test_the_config_map_is_there_before_its_pod_and_is_then_made_the_pods(runner, fake):
    result, _ = run(runner, "print(1)")
    assert result.succeeded
    order = [(method, path.rsplit("/", 2)[-2 if method == "PATCH" else -1]) for method, path in fake.requests]
    writes = [entry for entry in order if entry[0] in ("POST", "PATCH")]
    assert writes[:3] == [("POST", "configmaps"), ("POST", "pods"), ("PATCH", "configmaps")]
    assert fake.missing_volumes == []  # the kubelet never looked for it in vain
    patch = fake.queries("PATCH", r"/configmaps/")
    assert len(patch) == 1


def test_a_pod_left_pending_past_the_start_limit_is_ours_and_worth_another_try(make_runner, fake):
    fake.behaviour = Stuck()  # no node has room
    result, _ = run(make_runner(image_pull_timeout=0.3), "print(1)")
    assert result.error_type == ErrorType.SYSTEM_ERROR and result.message.startswith("The sandbox pod did not start")
    assert (result.infrastructure, result.retryable) == ("not_started", True)


def test_a_slow_schedule_and_container_creation_are_waited_out(runner, fake):
    fake.behaviour = Run(schedule_delay=0.2, start_delay=0.3)
    result, sink = run(runner, "print('late but fine')")
    assert result.succeeded and sink.text(Stream.STDOUT) == "late but fine\n"
    assert fake.missing_volumes == []


@pytest.mark.parametrize(
    "reason, kind, words",
    [
        ("PreemptionByScheduler", "preempted", status.PREEMPTED),
        ("EvictionByEvictionAPI", "evicted", status.EVICTED_BY_API),
    ],
)
def test_a_preemption_or_an_eviction_mid_run_is_ours_and_retryable(runner, fake, reason, kind, words):
    message = "Preempted in order to admit critical pod" if kind == "preempted" else "Eviction API: evicting"
    result = _disrupted_run(runner, fake, lambda name: fake.disrupt(name, reason, message))
    assert (result.error_type, result.message) == (ErrorType.SYSTEM_ERROR, words.format(detail=f"{reason}: {message}"))
    assert (result.infrastructure, result.retryable) == (kind, True)


def test_a_node_pressure_eviction_for_disk_is_ours_not_the_scripts_disk_limit(runner, fake):
    message = "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 9Gi."
    fake.behaviour = Run(evict_on_output=message)
    result, _ = run(runner, "import time\nprint('filling', flush=True)\ntime.sleep(60)")
    assert (result.error_type, result.message) == (ErrorType.SYSTEM_ERROR, status.EVICTED.format(detail=message))
    assert (result.infrastructure, result.retryable) == ("evicted", True)


def test_an_eviction_for_the_log_beyond_our_allowance_is_ours_and_not_retried(runner, fake):
    message = 'Container sandbox exceeded its local ephemeral storage limit "20Mi". '
    fake.behaviour = Run(evict_on_output=message)
    result, _ = run(runner, "import time\nprint('chatty', flush=True)\ntime.sleep(60)")
    expected = status.LOG_ALLOWANCE_EXCEEDED.format(detail=message.strip())
    assert (result.error_type, result.message) == (ErrorType.SYSTEM_ERROR, expected)
    assert (result.infrastructure, result.retryable) == ("evicted_log", False)


def test_an_eviction_for_scratch_space_over_its_size_is_the_scripts_disk_limit(runner, fake):
    message = 'Usage of EmptyDir volume "work" exceeds the limit "16Mi". '
    fake.behaviour = Run(evict_on_output=message)
    result, _ = run(runner, "import time\nprint('filling', flush=True)\ntime.sleep(60)")
    assert (result.error_type, result.infrastructure) == (ErrorType.DISK_LIMIT, "")


def test_a_node_lost_mid_run_is_noticed_by_the_silent_log_and_is_ours(make_runner, fake):
    fake.behaviour = Run(node_lost_on_output=True)
    runner = make_runner(log_idle_timeout=0.5, probe_timeout=0.5)
    started = time.monotonic()
    result, sink = run(runner, "import time\nprint('before', flush=True)\ntime.sleep(60)", wall_seconds=30)
    assert time.monotonic() - started < 15
    assert sink.text(Stream.STDOUT) == "before\n"
    assert result.error_type == ErrorType.SYSTEM_ERROR and result.message.startswith(
        "The node running the sandbox pod was lost: NodeLost"
    )
    assert (result.infrastructure, result.retryable) == ("node_lost", True)


def test_a_kubelet_that_stops_answering_is_ours_even_before_the_node_is_marked(make_runner, fake):
    fake.behaviour = Run(node_lost_on_output=True, node_lost_status_after=None)
    runner = make_runner(log_idle_timeout=0.5, probe_timeout=0.5)
    result, _ = run(runner, "import time\nprint('before', flush=True)\ntime.sleep(60)", wall_seconds=30)
    assert result.error_type == ErrorType.SYSTEM_ERROR and "stopped answering" in result.message
    assert (result.infrastructure, result.retryable) == ("kubelet_unresponsive", True)


def test_a_silent_node_at_the_host_deadline_is_not_the_scripts_timeout(make_runner, fake):
    fake.behaviour = Run(node_lost_on_output=True, node_lost_status_after=None)
    runner = make_runner(log_idle_timeout=60, probe_timeout=0.5, host_grace=0.2)
    result, _ = run(runner, "import time\nprint('before', flush=True)\ntime.sleep(60)", wall_seconds=1)
    assert (result.error_type, result.infrastructure) == (ErrorType.SYSTEM_ERROR, "kubelet_unresponsive")


def test_a_quiet_script_outlasts_a_short_log_idle_timeout(make_runner, fake):
    runner = make_runner(log_idle_timeout=0.3)
    result, sink = run(runner, "import time\nprint('a', flush=True)\ntime.sleep(1.2)\nprint('b')")
    assert result.succeeded, result
    assert sink.text(Stream.STDOUT) == "a\nb\n"


def test_reap_counts_terminating_pods_once_and_forces_out_those_stuck_on_a_lost_node(runner, fake, monkeypatch):
    fake.behaviour = Stuck("ContainerCreating")
    runner.start(spec("print(1)"), RecordingSink()).watch.stop()
    name = next(iter(fake.pods))
    fake.lose_node(name, status_after=None)
    assert runner.reap(older_than=timedelta(seconds=-1)) == 1  # deleted: terminating, never confirmed
    assert fake.pods[name]["metadata"]["deletionTimestamp"]
    assert runner.reap(older_than=timedelta(seconds=-1)) == 0  # already going: not counted again
    monkeypatch.setattr(kube_runner, "STUCK_TERMINATING", timedelta(seconds=-1))
    assert runner.reap(older_than=timedelta(seconds=-1)) == 1  # stuck: forced out
    assert fake.pods == {}


# --- backpressure and requeues, with the dispatcher ---------------------------------------------


def _counter(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(f"integr8scode_{name}", labels) or 0.0


def test_no_more_pods_start_at_once_than_allowed_and_claims_wait_for_them(make_runner, fake):
    fake.behaviour = Run(start_delay=0.3)
    runner = make_runner(max_starting=1)
    for done in _dispatched(runner, *(f"print({n})" for n in range(3)), concurrency=3):
        assert done.status == Status.COMPLETED, done.error_message
    assert fake.starting_peak == 1
    assert _counter("sandboxes_starting", runner="kubernetes") == 0


def test_a_run_whose_node_is_lost_is_requeued_and_its_output_starts_afresh(make_runner, fake, settings):
    settings.EXECUTION_MAX_ATTEMPTS = 2
    fake.behaviour = Each(Run(node_lost_on_output=True), Run())
    runner = make_runner(log_idle_timeout=0.5, probe_timeout=0.5)
    before = _counter("infrastructure_failures_total", runner="kubernetes", kind="node_lost", outcome="requeued")
    (done,) = _dispatched(runner, "import time\nprint('once', flush=True)\ntime.sleep(0.5)")
    assert (done.status, done.output, done.attempts) == (Status.COMPLETED, "once\n", 2)
    after = _counter("infrastructure_failures_total", runner="kubernetes", kind="node_lost", outcome="requeued")
    assert after == before + 1


def test_a_pod_that_never_starts_ends_as_a_system_error_once_attempts_run_out(make_runner, fake, settings):
    settings.EXECUTION_MAX_ATTEMPTS = 2
    fake.behaviour = Stuck()
    runner = make_runner(image_pull_timeout=0.3)
    labels = {"runner": "kubernetes", "kind": "not_started"}
    before = [_counter("infrastructure_failures_total", **labels, outcome=o) for o in ("requeued", "failed")]
    (done,) = _dispatched(runner, "print(1)")
    assert (done.status, done.error_type, done.attempts) == (Status.FAILED, ErrorType.SYSTEM_ERROR.value, 2)
    assert done.error_message.startswith("The sandbox pod did not start within 0.3s: Unschedulable")
    after = [_counter("infrastructure_failures_total", **labels, outcome=o) for o in ("requeued", "failed")]
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1]
