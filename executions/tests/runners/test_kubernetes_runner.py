"""The Kubernetes runner against a fake API server (``fake_kube_api.py``): the real client,
real HTTP, a real framed log from the real entry; only the cluster is pretend."""

from __future__ import annotations

import base64
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from conftest import wait_until
from executions import services
from executions.caller import Caller
from executions.documents import Execution, Status
from executions.engine import Dispatcher
from executions.runners.base import ErrorType, FileCaps, RunFile, RunnerError, Stream
from executions.runners.kubernetes import manifests as kube_manifests
from executions.runners.kubernetes import status
from executions.runners.kubernetes.client import NO_CONFIG
from executions.runners.kubernetes.runner import KubernetesRunner
from executions.runners.outcome import Flag
from executions.tests.runners import fake_kube_api
from executions.tests.runners.fake_kube_api import FakeKubeApi, Fault, LogCut, Run, Stuck
from executions.tests.runners.test_kubernetes_scenarios import (
    RecordingSink,
    RunnerScenarios,
    run,
    spec,
    validate_manifest,
)

IMAGE = "registry.example/runtime-python:test"


@pytest.fixture
def fake(tmp_path):
    api = FakeKubeApi(tmp_path).start()
    yield api
    api.close()


@pytest.fixture
def make_runner(fake, tmp_path):
    kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")

    def make(**options) -> KubernetesRunner:
        defaults = {
            "kubeconfig": str(kubeconfig),
            "namespace": "sandbox",
            "api_backoff": 0.01,
            "runtime_images": {"python3.13": IMAGE},
            "image_pull_timeout": 30,
        }
        return KubernetesRunner(**{**defaults, **options})

    return make


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
    assert (fake.pods, fake.config_maps) == ({}, {})
    assert fake.count("DELETE", r"/pods/sandbox-") == 1 and fake.count("DELETE", r"/configmaps/sandbox-") == 1


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
    assert fake.pods == {}


# --- pods that never start ------------------------------------------------------------------


def test_an_image_that_cannot_be_pulled_fails_the_run_after_the_bounded_wait(make_runner, fake):
    detail = 'failed to pull image "x": registry unavailable'
    fake.behaviour = Stuck("ImagePullBackOff", detail)
    started = time.monotonic()
    result, _ = run(make_runner(image_pull_timeout=0.5), "print(1)")
    assert time.monotonic() - started >= 0.5
    expected = status.IMAGE_PULL_FAILED.format(image=IMAGE, seconds=0.5, detail=f"ImagePullBackOff: {detail}")
    assert (result.error_type, result.message) == (ErrorType.SYSTEM_ERROR, expected)
    assert fake.pods == {}


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


def test_a_watch_whose_history_expired_resumes_from_a_fresh_read(runner, fake):
    sandbox = runner.start(spec("print('still here')"), RecordingSink())
    fake.expire_watch_history()
    result = sandbox.wait()
    assert result.succeeded
    assert fake.count("GET", r"/pods/sandbox-[^/]+$") >= 1


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
    dispatcher = Dispatcher(concurrency=1, runner=runner)
    dispatcher.start()
    try:
        script = "import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)"
        execution, _ = services.execution_submit(caller=Caller.internal(), script=script)
        done = wait_until(lambda: _final(execution.execution_id), timeout=30, message="the execution to finish")
    finally:
        dispatcher.shutdown(grace=5)
    assert (done.status, done.error_message) == (Status.COMPLETED, "")
    assert (done.output, done.errors, done.runner) == ("to stdout\n", "to stderr\n", "kubernetes")
    assert done.peak_memory_kb > 0
    assert (fake.pods, fake.config_maps) == ({}, {})


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
