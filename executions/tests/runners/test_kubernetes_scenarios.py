"""Scenarios every Kubernetes backend must pass: the fake API server
(``test_kubernetes_runner.py``) and a real cluster (``test_kubernetes_cluster.py``) both
run them by subclassing :class:`RunnerScenarios` with their own ``runner`` fixture."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from executions.runners import outcome
from executions.runners.base import ErrorType, FileCaps, Limits, RunFile, RunResult, RunSpec, Stream
from executions.runners.kubernetes import status

LIMITS = Limits(wall_seconds=10, cpu_seconds=10, memory_mb=128, processes=64, disk_mb=16, output_bytes=1 << 20)


class RecordingSink:
    """An OutputSink that remembers what arrived, and lets a test wait for it."""

    def __init__(self):
        self.chunks: list[tuple[Stream, str]] = []
        self.changed = threading.Condition()

    def write(self, stream: Stream, text: str) -> None:
        with self.changed:
            self.chunks.append((stream, text))
            self.changed.notify_all()

    def text(self, stream: Stream) -> str:
        with self.changed:
            return "".join(text for s, text in self.chunks if s == stream)

    def wait_for(self, stream: Stream, text: str, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while text not in "".join(t for s, t in self.chunks if s == stream):
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"{text!r} did not reach the sink within {timeout}s"
                self.changed.wait(remaining)


def spec(script: str, *, stdin: str = "", execution_id: str = "exec-1", files=(), file_caps=None, **limits) -> RunSpec:
    return RunSpec(
        execution_id=execution_id,
        script=script,
        stdin=stdin,
        runtime="python3.13",
        limits=replace(LIMITS, **limits),
        files=tuple(files),
        file_caps=file_caps,
    )


def run(runner, script: str, **kwargs) -> tuple[RunResult, RecordingSink]:
    sink = RecordingSink()
    result = runner.start(spec(script, **kwargs), sink).wait()
    return result, sink


class RunnerScenarios:
    """Needs a ``runner`` fixture: a KubernetesRunner pointed at some API server."""

    def test_a_script_runs_in_a_pod_and_reports_its_usage(self, runner):
        result, sink = run(runner, "print('hello from a pod')")
        assert result.succeeded, result
        assert sink.text(Stream.STDOUT) == "hello from a pod\n"
        assert result.exit_code == 0 and result.error_type is None
        assert result.cpu_ms is not None and result.peak_memory_kb > 0 and result.duration_ms is not None

    def test_given_files_are_in_the_working_directory_and_what_the_run_leaves_there_comes_back(self, runner):
        script = (
            "import os\n"
            "print(os.path.basename(os.getcwd()), sorted(os.listdir('.')), open('in/data.csv').read().split())\n"
            "open('in/data.csv', 'a').write('3,4\\n')\n"
            "open('plot.png', 'wb').write(bytes(range(256)) * 300)\n"
            "open('empty.txt', 'w').close()\n"
            "os.symlink('/etc/hostname', 'link')\n"
        )
        given = [RunFile("in/data.csv", b"a,b\n1,2\n"), RunFile("same.bin", b"\x00\x01")]
        result, sink = run(runner, script, files=given, file_caps=FileCaps(20, 1 << 20, 1 << 20))

        assert result.succeeded, (result, sink.text(Stream.STDERR))
        assert sink.text(Stream.STDOUT) == "work ['in', 'same.bin'] ['a,b', '1,2']\n"  # /work in a pod
        assert [(file.name, file.data) for file in result.files] == [
            ("empty.txt", b""),
            ("in/data.csv", b"a,b\n1,2\n3,4\n"),
            ("plot.png", bytes(range(256)) * 300),
        ]
        assert result.files_truncated is False

    def test_files_over_the_caps_are_left_out_and_said(self, runner):
        script = "for n in range(4): open(f'f{n}', 'w').write('x' * 10)"
        result, _ = run(runner, script, file_caps=FileCaps(count=2, total_bytes=100, file_bytes=100))

        assert result.succeeded, result
        assert [file.name for file in result.files] == ["f0", "f1"] and result.files_truncated is True

    def test_stdout_and_stderr_stay_apart(self, runner):
        result, sink = run(runner, "import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(3)")
        assert (sink.text(Stream.STDOUT), sink.text(Stream.STDERR)) == ("out\n", "err\n")
        assert (result.exit_code, result.error_type) == (3, ErrorType.RUNTIME_ERROR)

    def test_stdin_reaches_the_script(self, runner):
        result, sink = run(runner, "import sys; print(sys.stdin.read().upper())", stdin="quiet please")
        assert sink.text(Stream.STDOUT) == "QUIET PLEASE\n"

    def test_a_script_over_its_wall_limit_fails_with_timeout(self, runner):
        result, _ = run(runner, "import time; time.sleep(60)", wall_seconds=1)
        assert (result.error_type, result.message) == (ErrorType.TIMEOUT, outcome.TIMED_OUT)

    def test_a_script_far_over_its_memory_limit_fails_with_memory_limit(self, runner):
        result, _ = run(runner, "hog = bytearray(2 << 30)\nprint(len(hog))", memory_mb=64)
        assert (result.error_type, result.message) == (ErrorType.MEMORY_LIMIT, status.MEMORY_EXCEEDED)

    def test_output_over_the_cap_is_truncated_and_fails_with_output_limit(self, runner):
        result, sink = run(runner, "print('x' * 100_000)", output_bytes=4096)
        assert result.error_type == ErrorType.OUTPUT_LIMIT and result.output_truncated
        assert sink.text(Stream.STDOUT) == "x" * 4096

    def test_output_reaches_the_sink_while_the_pod_still_runs_and_stop_cancels_it(self, runner):
        sink = RecordingSink()
        sandbox = runner.start(spec("import time\nprint('first', flush=True)\ntime.sleep(60)"), sink)
        waiter = _wait_in_thread(sandbox)
        sink.wait_for(Stream.STDOUT, "first", timeout=60)
        sandbox.stop()
        result = waiter.result(timeout=60)
        assert (result.error_type, result.message) == (ErrorType.CANCELLED, status.STOPPED)

    def test_a_stop_before_waiting_still_ends_the_run_as_cancelled(self, runner):
        sandbox = runner.start(spec("import time; time.sleep(60)"), RecordingSink())
        sandbox.stop()
        assert sandbox.wait().error_type == ErrorType.CANCELLED

    def test_every_sandbox_object_is_deleted_after_the_run(self, runner):
        run(runner, "print('bye')", execution_id="exec-cleanup")
        assert _leftovers(runner, "exec-cleanup") == ([], [])


def _leftovers(runner, execution_id: str) -> tuple[list[str], list[str]]:
    """Sandbox pods and ConfigMaps of the execution that are still there (being deleted counts as gone)."""
    selector = f"integr8scode.io/execution-id={execution_id}"

    def live(items: list[dict]) -> list[str]:
        return [item["metadata"]["name"] for item in items if not item["metadata"].get("deletionTimestamp")]

    return live(runner.api.list_pods(selector)), live(runner.api.list_config_maps(selector))


class _Waiter:
    def __init__(self, sandbox):
        self.done = threading.Event()
        self.value: RunResult | None = None
        self.thread = threading.Thread(target=self._run, args=(sandbox,), daemon=True)
        self.thread.start()

    def _run(self, sandbox) -> None:
        self.value = sandbox.wait()
        self.done.set()

    def result(self, *, timeout: float) -> RunResult:
        assert self.done.wait(timeout), f"the run did not end within {timeout}s"
        return self.value


def _wait_in_thread(sandbox) -> _Waiter:
    return _Waiter(sandbox)


# --- schema validation, shared with the Helm chart's tests ------------------------------------

# The Kubernetes versions the chart supports (Chart.yaml's kubeVersion), oldest and newest.
KUBERNETES_VERSIONS = ("1.29", "1.37")


def validate_manifest(document: dict) -> None:
    """Validate against the official schemas of every supported version; strict, so a
    misspelt or misplaced field fails too."""
    import kubernetes_validate

    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(part) for part in exc.path)
            name = document.get("metadata", {}).get("name")
            raise AssertionError(f"{document['kind']} {name} invalid for {version} at {where}: {exc.message}") from None
