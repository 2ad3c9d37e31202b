"""LocalRunner end to end: real bubblewrap sandboxes running real (often hostile) scripts."""

import os
import shutil
import signal
import subprocess
import textwrap
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import pytest

from executions.runners.base import ErrorType, Limits, RunnerError, RunResult, RunSpec, RuntimeInfo, Stream
from executions.runners.local import cgroups
from executions.runners.local.runner import UNKNOWN_RUNTIME, LocalRunner
from executions.runners.local.sandbox import SANDBOX_BROKE, LocalSandbox
from executions.runners.outcome import (
    CPU_TIMED_OUT,
    OUTPUT_EXCEEDED,
    STOPPED,
    TIMED_OUT,
)

NEEDS_ROOT = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("bwrap"), reason="needs root and bubblewrap (sandbox uids and cgroups)"
)
pytestmark = NEEDS_ROOT

LIMITS = Limits(wall_seconds=2, cpu_seconds=2, memory_mb=96, processes=16, disk_mb=4, output_bytes=64 * 1024)
GRACE = 3.0  # LocalRunner's default host backstop beyond the wall limit
CANARY = "INTEGR8SCODE_TEST_CANARY"
TEARDOWN_SECONDS = 1.0


@dataclass
class Sink:
    chunks: list[tuple[Stream, str]] = field(default_factory=list)
    first_output: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def write(self, stream: Stream, text: str) -> None:
        with self.changed:
            self.chunks.append((stream, text))
            self.changed.notify_all()
        self.first_output.set()

    def text(self, stream: Stream = Stream.STDOUT) -> str:
        with self.changed:
            return "".join(text for s, text in self.chunks if s == stream)

    def wait_for(self, text: str, timeout: float = 10.0) -> None:
        """Until ``text`` is in the stdout so far (the run is followed in another thread)."""
        with self.changed:
            if not self.changed.wait_for(lambda: text in self.text(), timeout=timeout):
                raise AssertionError(f"{text!r} did not come; the output so far: {self.text()!r}")


@dataclass
class Outcome:
    result: RunResult
    stdout: str
    stderr: str
    seconds: float


@pytest.fixture(scope="module")
def runner():
    runner = LocalRunner()
    assert runner.wait_for_templates(timeout=60)  # every run below forks from one
    yield runner
    runner.launchers.close()


@pytest.fixture(scope="module")
def runner_without_cgroups():
    runner = LocalRunner(cgroups=False, warm=0)
    yield runner
    runner.launchers.close()


def run(runner: LocalRunner, script: str, *, stdin: str = "", **limits) -> Outcome:
    spec = RunSpec("test", textwrap.dedent(script), stdin, next(iter(runner.runtimes())), replace(LIMITS, **limits))
    sink = Sink()
    started = time.monotonic()
    sandbox = runner.start(spec, sink)
    result = sandbox.wait()
    outcome = Outcome(result, sink.text(Stream.STDOUT), sink.text(Stream.STDERR), time.monotonic() - started)
    assert_nothing_left_behind(runner, result, sandbox.launcher.job_dir.path)
    return outcome


def assert_nothing_left_behind(runner: LocalRunner, result: RunResult, job_dir: Path | None = None) -> None:
    # wait() returns as soon as the outcome is known; bwrap and the namespaces are
    # dismantled right after, in the background, within milliseconds.
    uid = result.extra["uid"]
    assert uid is not None and uid >= runner.options["uid_base"]
    cgroup_dirs = [parent / result.extra["cgroup"] for parent in runner.cgroups.parents] if runner.cgroups else []
    assert all(path.name.startswith(f"{cgroups.PREFIX}{uid}-") for path in cgroup_dirs)
    if result.extra.get("forked"):
        # Its uid is its template's, which lives on; a cgroup is removed only once empty, and the
        # scratch space is mounted nowhere on the host (its descriptor may be reused meanwhile).
        left = lambda: [p for p in cgroup_dirs if p.exists()]  # noqa: E731
    else:
        left = lambda: [*processes_of(uid), *(p for p in [*cgroup_dirs, job_dir] if p and p.exists())]  # noqa: E731
    deadline = time.monotonic() + TEARDOWN_SECONDS
    while left():
        assert time.monotonic() < deadline, f"left behind: {left()}"
        time.sleep(0.01)


def is_mount_point(path: Path) -> bool:
    return any(line.split()[4] == str(path) for line in Path("/proc/self/mountinfo").read_text().splitlines())


def processes_of(uid: int) -> list[int]:
    """Processes of the uid, zombies aside (one whose bwrap was killed is the init's to reap)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            mine = entry.name.isdigit() and entry.stat().st_uid == uid
            if mine and (entry / "stat").read_text().rpartition(")")[2].split()[0] != "Z":
                pids.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return pids


# --- ordinary scripts -----------------------------------------------------------------------


def test_hello_world_prints_exactly_its_output(runner):
    outcome = run(runner, 'print("hello")')
    assert outcome.stdout == "hello\n"
    assert outcome.stderr == ""
    assert outcome.result.succeeded
    assert outcome.result.error_type is None
    assert outcome.result.exit_code == 0
    assert outcome.result.duration_ms is not None and outcome.result.cpu_ms is not None
    assert outcome.result.peak_memory_kb > 1000


def test_stderr_is_kept_apart_from_stdout_and_each_keeps_its_order(runner):
    outcome = run(
        runner,
        """
        import sys
        for i in range(200):
            print(f"out {i}")
            print(f"err {i}", file=sys.stderr)
        """,
    )
    assert outcome.stdout == "".join(f"out {i}\n" for i in range(200))
    assert outcome.stderr == "".join(f"err {i}\n" for i in range(200))


def test_stdin_is_delivered(runner):
    outcome = run(runner, "import sys; print(sys.stdin.read().upper(), end='')", stdin="line one\nline two\n")
    assert outcome.stdout == "LINE ONE\nLINE TWO\n"


def test_without_stdin_reading_input_hits_end_of_file(runner):
    outcome = run(runner, "input()")
    assert "EOFError" in outcome.stderr
    assert outcome.result.error_type == ErrorType.RUNTIME_ERROR


def test_a_nonzero_sys_exit_is_a_runtime_error_with_that_code(runner):
    outcome = run(runner, "import sys; sys.exit(3)")
    assert outcome.result.exit_code == 3
    assert outcome.result.error_type == ErrorType.RUNTIME_ERROR


def test_sys_exit_with_a_message_prints_it_and_exits_1(runner):
    outcome = run(runner, "import sys; sys.exit('goodbye')")
    assert outcome.stderr == "goodbye\n"
    assert outcome.result.exit_code == 1


def test_the_exit_builtin_works_like_in_python(runner):
    outcome = run(runner, "print('before'); exit(4); print('after')")
    assert outcome.stdout == "before\n"
    assert outcome.result.exit_code == 4


def test_an_uncaught_exception_shows_a_normal_traceback_of_the_script_only(runner):
    outcome = run(runner, "x = 1\nraise ValueError('bad value')\n")
    assert outcome.result.exit_code == 1
    assert outcome.result.error_type == ErrorType.RUNTIME_ERROR
    assert outcome.stderr.startswith("Traceback (most recent call last):\n")
    assert 'File "/sandbox/main.py", line 2, in <module>' in outcome.stderr
    assert outcome.stderr.endswith("ValueError: bad value\n")
    assert "entry" not in outcome.stderr


def test_a_syntax_error_is_reported_like_python_does(runner):
    outcome = run(runner, "print('unclosed'\n")
    assert 'File "/sandbox/main.py", line 1' in outcome.stderr
    assert "SyntaxError" in outcome.stderr
    assert outcome.result.exit_code == 1


def test_the_script_runs_as_main_with_atexit_and_threads_finishing(runner):
    outcome = run(
        runner,
        """
        import atexit, threading, time
        atexit.register(lambda: print("atexit ran"))
        threading.Thread(target=lambda: (time.sleep(0.2), print("thread done"))).start()
        print(__name__, __file__)
        """,
    )
    assert outcome.stdout == "__main__ /sandbox/main.py\nthread done\natexit ran\n"
    assert outcome.result.succeeded


def test_unicode_split_across_writes_arrives_intact(runner):
    outcome = run(
        runner,
        """
        import sys, time
        data = "é€🎉\\n".encode()
        for i in range(len(data)):
            sys.stdout.buffer.write(data[i:i + 1]); sys.stdout.buffer.flush(); time.sleep(0.002)
        """,
    )
    assert outcome.stdout == "é€🎉\n"


def test_invalid_utf8_output_is_replaced_not_fatal(runner):
    outcome = run(runner, "import sys; sys.stdout.buffer.write(b'\\xff\\xfeok\\n')")
    assert outcome.stdout == "\ufffd\ufffdok\n"
    assert outcome.result.succeeded


def test_output_streams_live_before_the_script_ends(runner):
    sink = Sink()
    spec = RunSpec(
        "live", "import time\nprint('early')\ntime.sleep(3)\n", "", "python3.13", replace(LIMITS, wall_seconds=5)
    )
    sandbox = runner.start(spec, sink)
    waiter = threading.Thread(target=sandbox.wait)
    waiter.start()
    assert sink.first_output.wait(2.0)
    assert sink.text(Stream.STDOUT) == "early\n"
    assert waiter.is_alive()
    sandbox.stop()
    waiter.join()


def test_an_unknown_runtime_is_refused(runner):
    with pytest.raises(RunnerError) as error:
        runner.start(RunSpec("x", "pass", "", "cobol", LIMITS), Sink())
    assert error.value.permanent
    assert error.value.message == UNKNOWN_RUNTIME.format(name="cobol", available="python3.13")


def test_runtimes_describe_the_default_interpreter(runner):
    assert runner.runtimes() == {"python3.13": RuntimeInfo("python", "3.13.0")}
    assert runner.runtimes()["python3.13"].description == "Python 3.13.0"
    assert runner.check() == []


# --- limits ---------------------------------------------------------------------------------


def test_an_infinite_loop_times_out_at_the_wall_limit(runner):
    outcome = run(runner, "while True: pass", wall_seconds=1, cpu_seconds=5)
    assert outcome.result.error_type == ErrorType.TIMEOUT
    assert outcome.result.message == TIMED_OUT
    assert 1000 <= outcome.result.duration_ms < 1000 + GRACE * 1000
    assert outcome.seconds < 1 + GRACE


def test_a_cpu_bound_loop_stops_at_the_cpu_limit_before_the_wall_limit(runner):
    outcome = run(runner, "while True: pass", wall_seconds=5, cpu_seconds=1)
    assert outcome.result.error_type == ErrorType.TIMEOUT
    assert outcome.result.message == CPU_TIMED_OUT
    assert outcome.seconds < 4


def test_a_sleeping_script_is_not_charged_cpu(runner):
    outcome = run(runner, "import time; time.sleep(1.2); print('ok')", wall_seconds=2, cpu_seconds=1)
    assert outcome.result.succeeded
    assert outcome.result.cpu_ms < 500


def test_a_memory_hog_hits_the_memory_limit_without_cgroups(runner_without_cgroups):
    outcome = run(runner_without_cgroups, "x = bytearray(200 << 20)", memory_mb=64)
    assert outcome.result.error_type == ErrorType.MEMORY_LIMIT
    assert "MemoryError" in outcome.stderr
    assert outcome.result.exit_code == 1


def test_ordinary_scripts_still_run_without_cgroups(runner_without_cgroups):
    script = "import threading; t = threading.Thread(target=print, args=('hi',)); t.start(); t.join()"
    outcome = run(runner_without_cgroups, script)
    assert outcome.stdout == "hi\n"
    assert outcome.result.succeeded


def test_a_recursive_fork_bomb_ends_at_the_wall_limit(runner):
    script = "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass\n"
    outcome = run(runner, script, wall_seconds=1, processes=8)
    assert outcome.result.error_type == ErrorType.TIMEOUT
    assert outcome.seconds < 1 + GRACE


def test_a_file_larger_than_the_disk_limit_cannot_be_written(runner):
    outcome = run(runner, "open('/tmp/big', 'wb').write(b'x' * (8 << 20))", disk_mb=4)
    assert outcome.result.error_type == ErrorType.RUNTIME_ERROR
    assert "File too large" in outcome.stderr


def test_dev_shm_shares_the_capped_scratch_space(runner):
    outcome = run(runner, "open('/dev/shm/big', 'wb').write(b'x' * (8 << 20))", disk_mb=4)
    assert outcome.result.error_type == ErrorType.RUNTIME_ERROR


def test_everything_outside_tmp_is_read_only(runner):
    outcome = run(
        runner,
        """
        for path in ["/x", "/sandbox/x", "/usr/x", "/dev/x", "/opt/integr8scode/x", "/sandbox/main.py"]:
            try:
                open(path, "w")
                print(path, "writable")
            except OSError as exc:
                print(path, exc.errno)
        """,
    )
    assert "writable" not in outcome.stdout
    assert outcome.stdout.count(" 30\n") == 6  # EROFS


def test_an_output_flood_is_cut_at_exactly_the_cap(runner):
    outcome = run(runner, "while True: print('x' * 999)", output_bytes=10_000)
    assert outcome.result.error_type == ErrorType.OUTPUT_LIMIT
    assert outcome.result.message == OUTPUT_EXCEEDED
    assert outcome.result.output_truncated
    assert len(outcome.stdout) == 10_000
    assert outcome.stdout == ("x" * 999 + "\n") * 10


def test_an_output_flood_on_stderr_is_cut_too(runner):
    outcome = run(runner, "import sys\nwhile True: sys.stderr.write('e' * 4096)", output_bytes=5000)
    assert outcome.result.error_type == ErrorType.OUTPUT_LIMIT
    assert outcome.stderr == "e" * 5000


def test_output_exactly_at_the_cap_is_not_truncated(runner):
    outcome = run(runner, "print('y' * 4095)", output_bytes=4096)
    assert outcome.result.succeeded
    assert not outcome.result.output_truncated


# --- hostile scripts ------------------------------------------------------------------------


def test_it_runs_as_an_unprivileged_uid_inside_and_outside(runner):
    assert run(runner, "import os; print(os.getuid(), os.getgid())").stdout == "1000 1000\n"
    sleeper = Sleeper.start(runner)
    try:
        pids = cgroups.read_pids(sleeper.sandbox.cgroup.memory_dir)
        statuses = [
            dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()) for pid in pids
        ]
    finally:
        sleeper.sandbox.stop()
        sleeper.result(10)
    host_uid = sleeper.sandbox.uid
    assert host_uid >= 200000 and len(pids) >= 2  # the entry and the script at least
    for status in statuses:
        assert status["Uid"].split() == [str(host_uid)] * 4 and status["Gid"].split() == [str(host_uid)] * 4
        assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0
        assert status["Groups"].split() == []  # none of the server's supplementary groups


def test_what_scripts_do_use_still_works_under_the_filter(runner):
    script = """
        import asyncio, mmap, multiprocessing, os, socket, sqlite3, subprocess, sys, threading
        def square(x):
            return x * x
        if __name__ == "__main__":
            with multiprocessing.Pool(2) as pool:
                print(pool.map(square, range(4)))
            print(subprocess.run([sys.executable, "-c", "print(42)"], capture_output=True, text=True).stdout.strip())
            thread = threading.Thread(target=print, args=("thread",))
            thread.start()
            thread.join()
            print(asyncio.run(asyncio.sleep(0.01, "asyncio")))
            print(sqlite3.connect(":memory:").execute("select 'sqlite'").fetchone()[0])
            memory = mmap.mmap(-1, 4096)
            memory[:4] = b"mmap"
            left, right = socket.socketpair()
            left.send(memory[:4])
            print(right.recv(4).decode(), len(os.urandom(8)))
    """
    outcome = run(runner, script, processes=16)
    assert outcome.stdout.splitlines() == ["[0, 1, 4, 9]", "42", "thread", "asyncio", "sqlite", "mmap 8"]
    assert outcome.result.error_type is None


def test_closing_stdout_then_looping_still_ends_at_the_wall_limit(runner):
    outcome = run(
        runner,
        """
        import os, sys, time
        os.close(1)
        while True:
            print("still here", file=sys.stderr)
            time.sleep(0.1)
        """,
        wall_seconds=1,
    )
    assert outcome.result.error_type == ErrorType.TIMEOUT
    assert outcome.stderr.startswith("still here\n")


def test_closing_every_stream_and_exiting_is_an_ordinary_success(runner):
    outcome = run(runner, "import os\nos.close(1)\nos.close(2)")
    assert outcome.result.exit_code == 0


def test_a_daemonized_grandchild_is_killed_when_the_script_ends(runner):
    outcome = run(
        runner,
        """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(60)
            os._exit(0)
        os.wait()
        print("parent done")
        """,
        wall_seconds=5,
    )
    assert outcome.stdout == "parent done\n"
    assert outcome.result.succeeded
    assert outcome.seconds < 3  # not the 60 s of the grandchild, nor the 5 s wall limit


def test_stop_from_another_thread_cancels_the_run(runner):
    sink = Sink()
    script = "import time\nprint('running', flush=True)\ntime.sleep(30)"
    spec = RunSpec("stop", script, "", "python3.13", replace(LIMITS, wall_seconds=30))
    sandbox = runner.start(spec, sink)
    threading.Thread(target=lambda: sink.first_output.wait(5) and sandbox.stop()).start()
    started = time.monotonic()
    result = sandbox.wait()
    assert result.error_type == ErrorType.CANCELLED
    assert result.message == STOPPED
    assert time.monotonic() - started < 5
    assert sink.text(Stream.STDOUT) == "running\n"
    assert_nothing_left_behind(runner, result)


def test_several_runs_at_once_stay_apart(runner):
    outcomes: dict[int, Outcome] = {}

    def one(n: int) -> None:
        outcomes[n] = run(runner, f"import os, time\ntime.sleep(0.3)\nprint({n}, os.getpid())")

    threads = [threading.Thread(target=one, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {n: outcome.stdout for n, outcome in outcomes.items()} == {n: f"{n} 2\n" for n in range(4)}
    assert len({outcome.result.extra["cgroup"] for outcome in outcomes.values()}) == 4


# --- reaping and broken launchers -----------------------------------------------------------


@dataclass
class Sleeper:
    """A run that is up and sleeping, followed by a thread of its own."""

    sandbox: LocalSandbox
    sink: Sink
    thread: threading.Thread | None = None
    results: list[RunResult] = field(default_factory=list)

    @classmethod
    def start(cls, runner: LocalRunner) -> "Sleeper":
        script = "import time\nprint('up', flush=True)\ntime.sleep(30)"
        sink = Sink()
        spec = RunSpec("sleeper", script, "", "python3.13", replace(LIMITS, wall_seconds=30))
        sleeper = cls(runner.start(spec, sink), sink)
        sleeper.thread = threading.Thread(target=lambda: sleeper.results.append(sleeper.sandbox.wait()), daemon=True)
        sleeper.thread.start()
        assert sink.first_output.wait(5)
        return sleeper

    def result(self, timeout: float) -> RunResult:
        self.thread.join(timeout)
        assert self.results, "the run did not end"
        return self.results[0]


def idle_launchers(runner: LocalRunner) -> list:
    """Wait for the pool to be full again, then return its idle launchers."""
    if not runner.launchers.idle("python3.13"):
        run(runner, "pass")  # the pool fills up for a kind of sandbox once it has been asked for one
    deadline = time.monotonic() + 10
    while len(runner.launchers.idle("python3.13")) < runner.launchers.size:
        assert time.monotonic() < deadline, "the launcher pool was not refilled"
        time.sleep(0.01)
    return runner.launchers.idle("python3.13")


def test_reap_removes_nothing_that_is_in_use(runner):
    runner.reap(older_than=timedelta(seconds=0))  # what processes killed earlier on this machine left
    run(runner, "pass")
    sleeper = Sleeper.start(runner)
    idle = idle_launchers(runner)

    assert runner.reap(older_than=timedelta(seconds=0)) == 0
    # Nor does a reaper elsewhere (manage.py reap_sandboxes is another process, with its own locks).
    assert LocalRunner(warm=0).reap(older_than=timedelta(seconds=0)) == 0

    assert all(launcher.alive for launcher in idle)
    assert sleeper.thread.is_alive()
    sleeper.sandbox.stop()
    result = sleeper.result(timeout=5)
    assert result.error_type == ErrorType.CANCELLED  # stopped by us, not killed by the reaper
    assert sleeper.sink.text(Stream.STDOUT) == "up\n"
    assert run(runner, "print('still works')").stdout == "still works\n"


def test_reaping_all_the_time_disturbs_no_run_and_no_launcher(runner):
    runner.reap(older_than=timedelta(seconds=0))  # what processes killed earlier on this machine left
    reaper = LocalRunner(warm=0)  # as in another process: its own view of the uid locks
    removed: list[int] = []
    done = threading.Event()

    def reap_all_the_time() -> None:
        while not done.is_set():
            removed.append(reaper.reap(older_than=timedelta(seconds=0)))
            removed.append(runner.reap(older_than=timedelta(seconds=0)))

    # Runs start and end while launchers are spawned and torn down: reaps land in every window.
    thread = threading.Thread(target=reap_all_the_time)
    thread.start()
    try:
        outcomes = [run(runner, f"print({n})") for n in range(12)]
    finally:
        done.set()
        thread.join()
    assert [outcome.stdout for outcome in outcomes] == [f"{n}\n" for n in range(12)]
    assert all(outcome.result.succeeded for outcome in outcomes)
    assert len(removed) > 10 and sum(removed) == 0


def test_a_reaper_leaves_cgroups_it_cannot_place_alone(runner):
    unknown = runner.cgroups.create("legacy")  # a name this version does not give: not its to judge
    beyond_range = runner.options["uid_base"] + runner.options["uid_count"]  # another runner's uids
    foreign = runner.cgroups.create(str(beyond_range))
    try:
        assert runner.reap(older_than=timedelta(seconds=0)) == 0
        assert unknown.memory_dir.exists() and foreign.memory_dir.exists()
    finally:
        unknown.remove()
        foreign.remove()


def test_a_cgroup_is_counted_only_by_the_one_that_removes_it(runner):
    cgroup = runner.cgroups.create(f"p{os.getpid()}")  # in use for any reaper meanwhile
    assert cgroup.remove() is True
    assert cgroup.remove() is False  # removed meanwhile by someone else: nothing was reaped


@pytest.mark.parametrize("breakage", ["killed", "cgroup removed", "stopped"])
def test_a_run_never_lands_on_a_broken_warm_launcher(runner, breakage):
    for launcher in idle_launchers(runner):
        if breakage == "killed":
            os.kill(launcher.proc.pid, signal.SIGKILL)  # not waited for: it may still look alive
        elif breakage == "cgroup removed":
            launcher.cgroup.remove()
        else:
            os.kill(launcher.proc.pid, signal.SIGSTOP)
    outcome = run(runner, "print(6 * 7)")
    assert (outcome.stdout, outcome.result.error_type) == ("42\n", None)
    assert outcome.seconds < 2  # not the 5 s host backstop
    assert run(runner, "print('again')").stdout == "again\n"


@pytest.mark.parametrize("runner_fixture", ["runner", "runner_without_cgroups"])
def test_a_sandbox_whose_bwrap_dies_ends_at_once_with_a_system_error(request, runner_fixture):
    runner = request.getfixturevalue(runner_fixture)
    sleeper = Sleeper.start(runner)
    bwrap = sleeper.sandbox.proc.pid
    # A copy of the output pipe elsewhere (as a process forked meanwhile would hold) keeps it
    # from reaching end of file: the run must not wait for that, only for bwrap.
    stray_copy = os.open(f"/proc/{bwrap}/fd/1", os.O_WRONLY)
    try:
        os.kill(bwrap, signal.SIGKILL)
        result = sleeper.result(timeout=1.5)  # not the 33 s host backstop
    finally:
        os.close(stray_copy)
    assert result.error_type == ErrorType.SYSTEM_ERROR
    assert result.message == SANDBOX_BROKE.format(detail="killed by signal 9")
    assert_nothing_left_behind(runner, result)


# --- sandboxes started ahead ----------------------------------------------------------------


def test_a_run_on_an_idle_sandbox_waits_for_nothing_and_a_cold_one_says_how_long_it_waited(runner):
    idle_launchers(runner)
    warm = run(runner, "print('warm')")
    cold_runner = LocalRunner(warm=0)
    try:
        cold = run(cold_runner, "print('cold')")
    finally:
        cold_runner.launchers.close()

    assert (warm.stdout, warm.result.extra["start_ms"]) == ("warm\n", 0)
    assert cold.stdout == "cold\n" and cold.result.extra["start_ms"] > 0


def test_sandboxes_are_kept_ready_for_each_scratch_size_in_use(runner):
    run(runner, "pass", disk_mb=2)
    run(runner, "pass", disk_mb=3)

    def ready_kinds():
        with runner.launchers._wanted:
            return {kind for kind, idle in runner.launchers._idle.items() if len(idle) == runner.launchers.size}

    deadline = time.monotonic() + 10
    while not {("python3.13", 2), ("python3.13", 3)} <= ready_kinds():
        assert time.monotonic() < deadline, f"not refilled: {ready_kinds()}"
        time.sleep(0.01)
    two_files = "for name in 'ab': open(f'/tmp/{name}', 'wb').write(b'x' * (5 << 18))\nprint('fits')"
    small = run(runner, two_files, disk_mb=2)  # 2.5 MiB in all
    large = run(runner, two_files, disk_mb=3)
    assert small.result.error_type == ErrorType.DISK_LIMIT and "No space left on device" in small.stderr
    assert (large.stdout, large.result.error_type) == ("fits\n", None)


def test_a_reaper_removes_the_job_directory_a_dead_process_left_and_no_other(runner):
    idle = idle_launchers(runner)
    uid = runner.slots.claim()  # as a run of a process that died mid-run: then its lock went too
    left = runner._new_job_dir(uid, 4)
    left.write("script", b"print('left behind')")
    runner.slots.release(uid)

    assert runner.reap(older_than=timedelta(seconds=0)) == 1
    assert not left.path.exists() and not is_mount_point(left.path)
    assert all(launcher.job_dir.path.exists() and launcher.alive for launcher in idle)


def test_a_job_directory_is_open_to_its_sandboxs_uid_alone(runner):
    launcher = idle_launchers(runner)[0]
    root = launcher.job_dir.path
    if launcher.forked:  # a detached mount, reached only through the server's descriptor
        root = Path(f"/proc/{os.getpid()}/fd/{launcher.job_dir.mount_fd}")
    files, scratch = root / "job", root / "tmp"

    assert [(path.stat().st_uid, path.stat().st_mode & 0o777) for path in (files, scratch)] == [
        (launcher.uid, 0o500),
        (launcher.uid, 0o700),
    ]
    other_uid = runner.options["uid_base"] + runner.options["uid_count"] - 1
    for path in (files, scratch):
        peek = subprocess.run(
            ["setpriv", f"--reuid={other_uid}", f"--regid={other_uid}", "--clear-groups", "--", "ls", str(path)],
            capture_output=True,
            text=True,
        )
        assert peek.returncode != 0 and "Permission denied" in peek.stderr


def test_a_new_runner_removes_job_directories_that_a_killed_server_left_before_its_first_sandbox(runner):
    uid = runner.slots.claim()
    left = runner._new_job_dir(uid, 4)
    left.write("script", b"print('a past run')")
    runner.slots.release(uid)

    fresh = LocalRunner(warm=0)  # made, as a system check makes one: it touches nothing yet
    assert left.path.exists()
    assert run(fresh, "print('first')").stdout == "first\n"
    fresh.launchers.close()

    assert not left.path.exists() and not is_mount_point(left.path)
    assert all(launcher.job_dir.path.exists() for launcher in idle_launchers(runner))
