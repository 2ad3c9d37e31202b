"""The local runner's gVisor level: what it leaves on the host (nothing), who runs as whom,
and what a server that died mid-run leaves for the reaper. The hostile cases run under both
levels in executions/tests/abuse."""

import os
import shutil
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from executions.runners.base import ErrorType, RunSpec, Stream
from executions.runners.local.runner import LocalRunner
from executions.runners.outcome import STOPPED
from executions.tests.runners.test_local import LIMITS, Sink, is_mount_point, run

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the gVisor level runs runsc as root"),
    pytest.mark.skipif(not shutil.which("runsc"), reason="gVisor (runsc) is not installed: make installs it"),
]


@pytest.fixture(scope="module")
def runner():
    runner = LocalRunner(isolation="gvisor", warm=1)
    yield runner
    runner.launchers.close()


def leftovers(runner: LocalRunner, name: str, job_dir: Path, cgroup_dirs: list[Path]) -> list:
    gvisor = runner.isolation
    return [
        *gvisor.state.glob(f"{name}*"),
        *([gvisor.bundles / name] if (gvisor.bundles / name).exists() else []),
        *(path for path in cgroup_dirs if path.exists()),
        *([job_dir] if job_dir.exists() or is_mount_point(job_dir) else []),
    ]


def assert_gone(runner: LocalRunner, sandbox) -> None:
    name, job_dir = sandbox.launcher.name, sandbox.launcher.job_dir.path
    cgroup_dirs = list(sandbox.launcher.cgroup.dirs)
    deadline = time.monotonic() + 5
    while left := leftovers(runner, name, job_dir, cgroup_dirs):
        assert time.monotonic() < deadline, f"left behind: {left}"
        time.sleep(0.02)


def test_a_run_is_reported_from_the_hosts_measurements_and_leaves_nothing_behind(runner):
    sink = Sink()
    sandbox = runner.start(RunSpec("gv", "print('hello')", "", next(iter(runner.runtimes())), LIMITS), sink)
    result = sandbox.wait()

    assert (sink.text(Stream.STDOUT), result.succeeded, result.flags) == ("hello\n", True, [])
    # gVisor's own kernel is in the run's cgroup: the host counts it too.
    assert result.cpu_ms > 0 and result.peak_memory_kb > 16 * 1024
    assert runner.isolation_of("any") == "gvisor"
    assert_gone(runner, sandbox)


def test_the_supervisor_is_root_of_gvisor_and_the_script_runs_as_the_sandboxs_own_uid(runner):
    script = """
        import os
        status = dict(line.split(":\\t", 1) for line in open("/proc/1/status").read().splitlines())
        print(os.getuid(), status["Uid"].split()[0], int(status["CapEff"], 16) > 0)
    """
    outcome = run(runner, script)
    uid, supervisor_uid, supervisor_capable = outcome.stdout.split()
    assert (supervisor_uid, supervisor_capable) == ("0", "True")
    assert int(uid) == outcome.result.extra["uid"] >= runner.options["uid_base"]


def test_stop_cancels_a_run_and_leaves_nothing_behind(runner):
    sink = Sink()
    spec = RunSpec(
        "gv-stop",
        "import time\nprint('running', flush=True)\ntime.sleep(30)",
        "",
        next(iter(runner.runtimes())),
        LIMITS,
    )
    sandbox = runner.start(spec, sink)
    threading.Thread(target=lambda: sink.first_output.wait(10) and sandbox.stop()).start()
    result = sandbox.wait()
    assert (result.error_type, result.message) == (ErrorType.CANCELLED, STOPPED)
    assert_gone(runner, sandbox)


def test_what_a_server_that_died_mid_run_left_is_reaped(runner):
    runtime = next(iter(runner._runtimes.values()))
    launcher = runner._new_launcher(runtime, LIMITS.disk_mb)  # as if a run were about to start
    name, job_dir, cgroup_dirs = launcher.name, launcher.job_dir.path, list(launcher.cgroup.dirs)
    # The server dies: runsc is killed with it, its state files stay, and the uid is free again.
    os.killpg(launcher.proc.pid, signal.SIGKILL)
    launcher.proc.wait()
    runner.slots.release(launcher.uid)
    assert leftovers(runner, name, job_dir, cgroup_dirs)

    runner.reap(older_than=timedelta(seconds=0))

    assert leftovers(runner, name, job_dir, cgroup_dirs) == []
