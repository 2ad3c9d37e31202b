"""Runs forked from warm templates (runners/local/template.py): each fork in namespaces of its
own, apart from every other run of the same template, reseeded, and a template that dies,
changes or cannot start costing no run more than a cold start. The security review these
tests back is docs/templates.md; the abuse suite (executions/tests/abuse/) runs on forks too."""

import os
import signal
import textwrap
import threading
import time
from dataclasses import dataclass, field, replace

import pytest
from django.conf import settings

from executions.runners.base import ErrorType, RunSpec, Stream
from executions.runners.local.runner import LocalRunner
from executions.runners.local.sandbox import LocalSandbox
from executions.tests.runners.test_local import LIMITS, NEEDS_ROOT, Outcome, Sink, assert_nothing_left_behind

pytestmark = NEEDS_ROOT

BARE, DATA = settings.BARE_RUNTIME, settings.DATA_RUNTIME
DEADLINE_SECONDS = 10.0


@pytest.fixture(scope="module")
def runner():
    runner = LocalRunner(runtimes=settings.EXECUTION_RUNNER["OPTIONS"]["runtimes"])
    if not runner.forks_runs():
        pytest.skip("runs fork from templates only as root, with cgroups that account CPU time")
    assert runner.wait_for_templates(timeout=120)
    yield runner
    runner.launchers.close()
    runner.templates.close()


@dataclass
class Started:
    """A run followed by a thread of its own (the runner reads its output while it waits)."""

    sandbox: LocalSandbox
    sink: Sink
    results: list = field(default_factory=list)

    def __post_init__(self):
        self.thread = threading.Thread(target=lambda: self.results.append(self.sandbox.wait()), daemon=True)
        self.thread.start()


def start(runner: LocalRunner, script: str, *, runtime: str = BARE, **limits) -> Started:
    spec = RunSpec("test", textwrap.dedent(script), "", runtime, replace(LIMITS, **limits))
    sink = Sink()
    return Started(runner.start(spec, sink), sink)


def finish(runner: LocalRunner, started: Started) -> Outcome:
    started.thread.join(DEADLINE_SECONDS + LIMITS.wall_seconds)
    assert started.results, "the run did not end"
    assert_nothing_left_behind(runner, started.results[0])
    return Outcome(started.results[0], started.sink.text(Stream.STDOUT), started.sink.text(Stream.STDERR), 0.0)


def run(runner: LocalRunner, script: str, **options) -> Outcome:
    return finish(runner, start(runner, script, **options))


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_every_run_of_each_runtime_forks_from_its_template(runner):
    for runtime in (BARE, DATA):
        outcome = run(runner, "import sys; print(sys.modules['__main__'].__file__)", runtime=runtime)
        assert (outcome.result.succeeded, outcome.stdout) == (True, "/sandbox/main.py\n")
        assert outcome.result.extra["forked"] is True
        assert outcome.result.extra["uid"] == runner.templates.templates()[runtime].uid


@pytest.mark.parametrize("runtime", [BARE, DATA])
def test_a_fork_keeps_nothing_of_its_templates_privileges(runner, runtime):
    outcome = run(
        runner,
        """
        import os
        print(sorted(os.listdir("/proc/self/fd")))  # nothing the template held
        status = dict(line.split(":\\t") for line in open("/proc/self/status").read().splitlines())
        print([status[key].strip() for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")])
        print(status["NoNewPrivs"].strip(), status["Seccomp"].strip(), os.getuid(), os.getgid())
        print(open("/proc/sys/user/max_user_namespaces").read().strip())
        for flag in (os.CLONE_NEWUSER, os.CLONE_NEWNS, os.CLONE_NEWNET):
            try:
                os.unshare(flag)
                print("unshared", flag)
            except OSError as exc:
                print("refused", exc.errno)
        print(open("/proc/self/cgroup").read().splitlines()[0].rpartition(":")[2])
        """,
        runtime=runtime,
    )
    assert outcome.stdout.splitlines() == [
        "['0', '1', '2', '3', '8']",  # 3: the listing itself; 8: the supervisor's status pipe, as cold
        str(["0000000000000000"] * 5),
        "1 2 1000 1000",
        "0",
        *["refused 1"] * 3,
        "/",
    ], outcome


def test_two_runs_of_one_template_cannot_see_or_touch_each_other(runner):
    first = start(
        runner,
        """
        import ctypes, os, socket, time
        for path in ("/tmp/secret-a", "/work/secret-a", "/dev/shm/secret-a"):
            open(path, "w").write("a")
        listener = socket.socket(socket.AF_UNIX)
        listener.bind("\\0integr8scode-run-a")
        listener.listen()
        segment = ctypes.CDLL(None).shmget(0x5EC2E7, 4096, 0o1666)
        print("up", os.getpid(), segment >= 0, flush=True)
        time.sleep(30)
        """,
        wall_seconds=30,
    )
    assert first.sink.first_output.wait(DEADLINE_SECONDS), first.sink.chunks
    second = run(
        runner,
        """
        import ctypes, errno, os, signal, socket
        print(sorted(int(pid) for pid in os.listdir("/proc") if pid.isdigit()) == [1, os.getpid()])
        print(os.listdir("/tmp"), os.listdir("/work"), os.listdir("/dev/shm"))
        try:
            socket.socket(socket.AF_UNIX).connect("\\0integr8scode-run-a")
            print("reached the other run's socket")
        except OSError as exc:
            print(errno.errorcode[exc.errno])
        libc = ctypes.CDLL(None, use_errno=True)
        print(libc.shmget(0x5EC2E7, 0, 0), errno.errorcode[ctypes.get_errno()])
        print(any("secret" in line for line in open("/proc/self/mountinfo")))
        killed = 0
        for pid in range(2, 4 * 4096):
            if pid != os.getpid():
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except OSError:
                    pass
        print("killed", killed)
        """,
    )
    assert second.stdout.splitlines() == [
        "True",
        "[] [] []",
        "ECONNREFUSED",
        "-1 ENOENT",
        "False",
        "killed 0",
    ], second
    assert first.sink.text(Stream.STDOUT).startswith("up 2 True"), first.sink.chunks  # PID 2 of its own namespace
    assert not first.results  # still running: nothing of the second run reached it
    first.sandbox.stop()
    assert finish(runner, first).result.error_type is ErrorType.CANCELLED


def test_one_run_cannot_use_up_what_the_kernel_counts_per_uid_for_the_others(runner):
    """Runs of a template share its host uid: what the kernel counts per uid (inotify
    instances, fanotify groups, queued signals) is capped per run, in its own user namespace."""
    hog = start(
        runner,
        """
        import ctypes, os, signal, time
        libc = ctypes.CDLL(None, use_errno=True)
        instances = 0
        while libc.inotify_init1(0) >= 0:
            instances += 1
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])
        queued = 0
        while queued < 200000 and libc.sigqueue(os.getpid(), signal.SIGRTMIN, 0) == 0:
            queued += 1
        print(instances, queued, flush=True)
        time.sleep(30)
        """,
        wall_seconds=30,
    )
    assert hog.sink.first_output.wait(DEADLINE_SECONDS), hog.sink.chunks
    other = run(
        runner,
        """
        import ctypes, os, signal
        libc = ctypes.CDLL(None, use_errno=True)
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])
        print(libc.inotify_init1(0) >= 0, libc.sigqueue(os.getpid(), signal.SIGRTMIN, 0) == 0)
        """,
    )
    assert other.stdout == "True True\n", other
    assert hog.sink.text(Stream.STDOUT) == "8 1024\n"
    hog.sandbox.stop()
    finish(runner, hog)


@pytest.mark.parametrize("runtime", [BARE, DATA])
def test_concurrent_runs_draw_different_random_numbers(runner, runtime):
    script = "import random; print(random.random())"
    if runtime == DATA:
        script += "\nimport numpy; print(numpy.random.random(), numpy.random.randint(1 << 30))"
    started = [start(runner, script, runtime=runtime) for _ in range(3)]
    draws = [finish(runner, one).stdout for one in started]
    assert all(draw.strip() for draw in draws) and len(set(draws)) == 3, draws
    for line in zip(*(draw.splitlines() for draw in draws), strict=True):
        assert len(set(line)) == 3, draws  # each generator on its own


def test_a_template_that_dies_ends_its_runs_as_system_errors_and_is_replaced(runner):
    template = runner.templates.templates()[BARE]
    sleeper = start(runner, "import time\nprint('up', flush=True)\ntime.sleep(30)", wall_seconds=30)
    assert sleeper.sandbox.launcher.forked and sleeper.sink.first_output.wait(DEADLINE_SECONDS)
    os.kill(template.pid, signal.SIGKILL)
    sleeper.thread.join(DEADLINE_SECONDS)
    assert sleeper.results, "the run of a dead template did not end"
    result = sleeper.results[0]
    assert result.error_type is ErrorType.SYSTEM_ERROR and "template" in result.message, result
    # The next run does not wait for a new template (it starts cold if need be), and one comes.
    assert run(runner, "print('after')").stdout == "after\n"
    assert runner.wait_for_templates(timeout=60)
    assert runner.templates.templates()[BARE].pid != template.pid
    wait_until(lambda: template.proc.poll() is not None, "the dead template's sandbox is still there")
    # Cold sandboxes armed meanwhile (the idle ones, and one being armed) are used up first.
    forked = [run(runner, "pass").result.extra["forked"] for _ in range(runner.options["warm"] + 2)]
    assert forked[-1] is True, forked


def test_a_template_of_changed_runtime_files_is_retired_once_its_runs_end(runner, monkeypatch):
    old = runner.templates.templates()[BARE]
    fingerprint = runner.template_fingerprint
    monkeypatch.setattr(runner, "template_fingerprint", lambda runtime: (*fingerprint(runtime), "changed"))
    assert run(runner, "print(1)").stdout == "1\n"  # cold, or a fork armed before: never waits
    assert runner.wait_for_templates(timeout=60)
    assert runner.templates.templates()[BARE] is not old
    forked = [run(runner, "pass").result.extra["forked"] for _ in range(runner.options["warm"] + 2)]
    assert forked[-1] is True, forked  # once the sandboxes armed meanwhile are used up
    wait_until(lambda: old.proc.poll() is not None, "the retired template did not end")


def test_without_a_template_runs_start_cold_at_once(monkeypatch):
    runner = LocalRunner(warm=0)
    if not runner.forks_runs():
        pytest.skip("runs fork from templates only as root, with cgroups that account CPU time")

    def broken(runtime):
        raise OSError("no template today")

    monkeypatch.setattr(runner.templates, "factory", broken)
    try:
        outcome = run(runner, "print('cold')")
        assert (outcome.stdout, outcome.result.extra["forked"]) == ("cold\n", False)
        assert not runner.wait_for_templates(timeout=0.2)
    finally:
        runner.templates.close()


def test_the_templates_memory_is_bounded_and_reported(runner):
    assert runner.wait_for_templates(timeout=60)
    for runtime in (BARE, DATA):
        template = runner.templates.templates()[runtime]
        assert 0 < template.memory_bytes() <= runner.options["template_memory_mb"] << 20
        limit = int((template.cgroup.memory_dir / "memory.limit_in_bytes").read_text())
        assert limit == runner.options["template_memory_mb"] << 20
    # What the dispatcher exports as integr8scode_sandbox_template_memory_bytes{runtime}.
    assert set(runner.template_memory()) == {BARE, DATA} and all(runner.template_memory().values())
