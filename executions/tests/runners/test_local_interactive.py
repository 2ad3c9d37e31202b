"""Interactive runs on the LocalRunner: stdin stays open, typed input reaches the script as it
comes, end of file ends it, and the host tells a run that waits for input from one that
computes by the CPU time it measures. Real sandboxes (forked, cold and gVisor), real scripts."""

import shutil
import textwrap
import threading
import time

import pytest

from conftest import wait_until
from executions.runners.base import ErrorType, Limits, RunSpec, Stream
from executions.runners.local import cgroups
from executions.runners.local.runner import LocalRunner
from executions.tests.runners.test_local import NEEDS_ROOT, Sink

pytestmark = NEEDS_ROOT

LIMITS = Limits(wall_seconds=20, cpu_seconds=5, memory_mb=96, processes=16, disk_mb=4, output_bytes=64 * 1024)
DEADLINE_SECONDS = 10.0


@pytest.fixture(scope="module", params=["forked", "cold", "gvisor"])
def runner(request):
    if request.param == "gvisor" and not shutil.which("runsc"):
        pytest.skip("gVisor (runsc) is not installed: make installs it")
    runner = {
        "forked": LocalRunner,
        "cold": lambda: LocalRunner(templates=False),
        "gvisor": lambda: LocalRunner(isolation="gvisor", warm=1),
    }[request.param]()
    if request.param == "forked":
        assert runner.wait_for_templates(timeout=60)
    yield runner
    runner.launchers.close()


class Followed:
    """A started sandbox followed in a thread, as the dispatcher does (its output is read
    only while someone waits for it)."""

    def __init__(self, sandbox):
        self.sandbox, self._result = sandbox, []
        self._thread = threading.Thread(target=lambda: self._result.append(sandbox.wait()))
        self._thread.start()

    def __getattr__(self, name):
        return getattr(self.sandbox, name)

    def wait(self):
        self._thread.join(timeout=LIMITS.wall_seconds + 10)
        return self._result[0]


def start(runner, script: str, *, stdin: str = ""):
    spec = RunSpec("test", textwrap.dedent(script), stdin, next(iter(runner.runtimes())), LIMITS, interactive=True)
    sink = Sink()
    return Followed(runner.start(spec, sink)), sink


def test_typed_lines_reach_input_one_at_a_time(runner):
    sandbox, sink = start(
        runner,
        """
        name = input("Your name? ")
        print(f"Hello, {name}!")
        age = input("Age? ")
        print(f"{name} is {age}")
        """,
    )
    sink.wait_for("Your name? ")
    assert "Hello" not in sink.text()  # it waits: nothing was typed yet
    assert sandbox.feed(b"Ada\n")
    sink.wait_for("Age? ")
    assert sandbox.feed(b"36\n")
    result = sandbox.wait()
    assert result.succeeded, (result, sink.text(Stream.STDERR))
    assert sink.text() == "Your name? Hello, Ada!\nAge? Ada is 36\n"


def test_the_submitted_stdin_comes_first_then_what_is_typed_then_end_of_file(runner):
    sandbox, sink = start(
        runner,
        """
        import sys
        print(repr(input()))
        print("got", repr(sys.stdin.read()))
        """,
        stdin="first\n",
    )
    sink.wait_for("'first'\n")
    sandbox.feed(b"more ")
    sandbox.feed(b"and more")
    sandbox.end_input()
    result = sandbox.wait()
    assert result.succeeded, sink.text(Stream.STDERR)
    assert sink.text() == "'first'\ngot 'more and more'\n"
    assert not sandbox.feed(b"late")  # input has ended


def test_end_of_file_at_a_prompt_is_an_eof_error(runner):
    sandbox, sink = start(runner, 'input("? ")\n')
    sink.wait_for("? ")
    sandbox.end_input()
    result = sandbox.wait()
    assert result.error_type == ErrorType.RUNTIME_ERROR
    assert result.uncaught.type == "EOFError"


def test_a_run_waiting_for_input_uses_no_cpu_and_one_computing_does(runner):
    sandbox, sink = start(
        runner,
        """
        input("ready? ")
        n = 0
        while True:
            n += 1
        """,
    )
    sink.wait_for("ready? ")
    before = sandbox.cpu_ns()
    time.sleep(0.3)  # measuring an interval: the CPU it takes while it waits
    assert sandbox.cpu_ns() - before < 15_000_000  # 5% (gVisor's kernel takes up to 4% by itself)
    sandbox.feed(b"go\n")
    wait_until(lambda: sandbox.cpu_ns() - before > 100_000_000, timeout=DEADLINE_SECONDS, message="the loop's CPU")
    sandbox.stop()
    assert sandbox.wait().error_type == ErrorType.CANCELLED


def test_input_nobody_reads_does_not_block_the_host(runner):
    """The entry takes what is typed at once, whether the script reads it or not."""
    sandbox, sink = start(runner, 'import time\nprint("up", flush=True)\ntime.sleep(30)\n')
    sink.wait_for("up")
    for _ in range(4):
        assert sandbox.feed(b"x" * 60_000)  # more than a pipe holds, none of it read
    sandbox.stop()
    assert sandbox.wait().error_type == ErrorType.CANCELLED


def test_a_script_that_closes_its_stdin_still_ends_normally(runner):
    sandbox, sink = start(runner, 'import os\nos.close(0)\ninput("never")\n')
    result = sandbox.wait()
    assert result.error_type == ErrorType.RUNTIME_ERROR  # input() on a closed stdin
    sandbox.feed(b"after\n")  # does not raise


def test_without_a_cgroup_that_counts_cpu_no_runtime_is_interactive():
    """The host could not tell a run that waits for input from one that computes, nor stop one."""
    runner = LocalRunner(cgroups=False, warm=0)
    assert not any(info.interactive for info in runner.runtimes().values())


def test_without_a_freezer_no_runtime_is_interactive():
    """The host could not stop a run that computes without a slot."""
    runner = LocalRunner(warm=0)
    if runner.cgroups is None:
        pytest.skip("needs cgroups")
    assert runner.cgroups.freezes  # make's machines: a v1 freezer or v2
    assert any(info.interactive for info in runner.runtimes().values())
    without = {name: path for name, path in runner.cgroups.by_controller.items() if name != "freezer"}
    runner._cgroups = cgroups.CgroupManager(without, v2=runner.cgroups.v2)
    runner._cgroups.freezes = False
    assert not any(info.interactive for info in runner.runtimes().values())


def test_a_paused_run_stands_still_until_it_is_resumed(runner):
    if runner.cgroups is None:
        pytest.skip("pausing needs the run's cgroup")
    sandbox, sink = start(
        runner, "import time\nwhile True:\n    print(time.monotonic(), flush=True)\n    time.sleep(0.01)\n"
    )
    sink.wait_for("\n")
    assert sandbox.pause()
    time.sleep(0.1)  # what it wrote before it stopped reaches the host meanwhile
    before, cpu = len(sink.text()), sandbox.cpu_ns()
    time.sleep(0.3)  # measuring an interval: nothing may happen in it
    assert len(sink.text()) == before
    assert sandbox.cpu_ns() - cpu < 2_000_000
    sandbox.resume()
    wait_until(lambda: len(sink.text()) > before, timeout=DEADLINE_SECONDS, message="output after resume()")
    sandbox.stop()
    assert sandbox.wait().error_type == ErrorType.CANCELLED


def test_runs_paused_and_resumed_live_on(runner):
    """A pause no process of the sandbox notices: gVisor's sentry traces its stubs, and a
    SIGSTOP (what pausing was) reached it as a ptrace stop it did not expect, in about one
    sandbox of twelve, and the whole sandbox died."""
    if runner.cgroups is None:
        pytest.skip("pausing needs the run's cgroup")
    for _ in range(20):
        sandbox, sink = start(
            runner, "import time\nwhile True:\n    print(time.monotonic(), flush=True)\n    time.sleep(0.01)\n"
        )
        sink.wait_for("\n")
        assert sandbox.pause()
        time.sleep(0.2)  # standing still a while, as a run without a slot does
        before = len(sink.text())
        sandbox.resume()
        grew = lambda sink=sink, before=before: len(sink.text()) > before  # noqa: E731
        wait_until(grew, timeout=DEADLINE_SECONDS, message="output after resume()")
        sandbox.stop()
        assert sandbox.wait().error_type == ErrorType.CANCELLED


def test_a_paused_fork_loop_neither_forks_nor_computes(runner):
    """Frozen all at once: no child is started meanwhile, by a process not stopped yet."""
    if runner.cgroups is None:
        pytest.skip("pausing needs the run's cgroup")
    sandbox, sink = start(
        runner,
        """
        import os
        print("forking", flush=True)
        while True:
            try:
                pid = os.fork()
            except OSError:
                continue
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
        """,
    )
    sink.wait_for("forking")
    assert sandbox.pause()
    cgroup = sandbox.sandbox.cgroup
    pids, cpu = sorted(cgroups.read_pids(cgroup.memory_dir)), sandbox.cpu_ns()
    time.sleep(0.3)  # measuring an interval: nothing may happen in it
    assert sorted(cgroups.read_pids(cgroup.memory_dir)) == pids
    assert sandbox.cpu_ns() - cpu < 2_000_000
    sandbox.stop()  # while frozen: it ends all the same, and at once (a frozen process dies only thawed)
    result = sandbox.wait()
    assert result.error_type == ErrorType.CANCELLED
    assert result.duration_ms < LIMITS.wall_seconds * 1000 / 2  # stopped, not ended by the wall cap
