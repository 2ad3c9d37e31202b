"""What the bubblewrap runner prepares once rather than per run: the runtime staged for the
sandbox uids, and the sandbox entry compiled for each runtime."""

import os
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from executions.limits import limit_caps
from executions.runners.base import RunnerError, RunSpec
from executions.runners.local import seccomp
from executions.runners.local.bwrap import BWRAP_TOO_OLD
from executions.runners.local.runner import ENTRY_PATH, ENTRY_SHOWN_AS, LocalRunner
from executions.runners.local.setup import NOT_PRIVATE, STALE_BYTECODE_SECONDS, Runtime, spawn_prefix
from executions.tests.runners.test_local import NEEDS_ROOT


@pytest.fixture
def runtime(tmp_path) -> Runtime:
    return Runtime("python", sys._base_executable, tmp_path / "runtimes", as_root=os.geteuid() == 0)


def mount_points() -> set[str]:
    return {line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()}


# --- the compiled entry -------------------------------------------------------------------


def test_the_entry_is_compiled_once_for_a_runtime_and_runs_as_bytecode(runtime, tmp_path):
    compiled = runtime.compiled(ENTRY_PATH, tmp_path / "entries", shown_as=ENTRY_SHOWN_AS)
    assert compiled.suffix == ".pyc" and compiled.parent == tmp_path / "entries"
    made = compiled.stat().st_mtime_ns
    assert runtime.compiled(ENTRY_PATH, tmp_path / "entries", shown_as=ENTRY_SHOWN_AS) == compiled
    assert compiled.stat().st_mtime_ns == made
    assert list(compiled.parent.iterdir()) == [compiled]  # no temporary file left beside it
    assert (compiled.parent.stat().st_mode & 0o777) == 0o700


def test_a_changed_source_gets_bytecode_of_its_own(runtime, tmp_path):
    source = tmp_path / "entry.py"
    source.write_text("print('one')\n")
    first = runtime.compiled(source, tmp_path / "entries", shown_as="/x/entry.py")
    source.write_text("print('two')\n")
    second = runtime.compiled(source, tmp_path / "entries", shown_as="/x/entry.py")
    assert first != second and first.exists() and second.exists()


def test_bytecode_of_other_versions_is_removed_once_it_is_old(runtime, tmp_path):
    source, entries = tmp_path / "entry.py", tmp_path / "entries"
    versions = []
    for text in ("print('one')\n", "print('two')\n", "print('three')\n"):
        source.write_text(text)
        versions.append(runtime.compiled(source, entries, shown_as="/x/entry.py"))
        if len(versions) == 1:
            long_ago = time.time() - STALE_BYTECODE_SECONDS - 60
            os.utime(versions[0], (long_ago, long_ago))

    assert sorted(entries.iterdir()) == sorted(versions[1:])  # the old one went; a recent one stays


def test_a_source_that_does_not_compile_is_an_os_error_naming_it(runtime, tmp_path):
    source = tmp_path / "broken.py"
    source.write_text("def (:\n")
    with pytest.raises(OSError, match="could not compile broken.py: .*SyntaxError"):
        runtime.compiled(source, tmp_path / "entries", shown_as="/x/broken.py")
    assert not any((tmp_path / "entries").iterdir())


def test_bytecode_is_never_taken_from_a_directory_others_can_write(runtime, tmp_path):
    entries = tmp_path / "entries"
    planted = runtime.compiled(ENTRY_PATH, entries, shown_as=ENTRY_SHOWN_AS)  # as if someone else put it there
    entries.chmod(0o777)
    with pytest.raises(OSError) as refused:
        runtime.compiled(ENTRY_PATH, entries, shown_as=ENTRY_SHOWN_AS)
    assert str(refused.value) == NOT_PRIVATE.format(path=entries, uid=os.geteuid())
    assert planted.exists()


# --- the staged runtime --------------------------------------------------------------------


@NEEDS_ROOT
def test_a_runtime_the_sandbox_uids_cannot_reach_is_staged_in_a_namespace_of_its_own(tmp_path):
    private = tmp_path / "private"
    interpreter = private / "python" / "bin" / "python3"
    interpreter.parent.mkdir(parents=True)
    interpreter.write_text("")
    private.chmod(0o700)
    runtime = Runtime("private", str(interpreter), tmp_path / "runtimes", as_root=True)
    assert runtime.staging == tmp_path / "runtimes" / "private"

    namespace = runtime.staged_namespace()
    assert runtime.staged_namespace() == namespace  # made once
    assert os.readlink(f"/proc/self/fd/{namespace}").startswith("mnt:[")
    # The overlay is there for the sandboxes (seen through the namespace) and not on the host.
    assert str(runtime.staging) not in mount_points()
    inside = Path(f"/proc/{os.getpid()}/fd/{namespace}")
    assert spawn_prefix(runtime, None) == ["/usr/bin/nsenter", f"--mount={inside}", "--"]
    listed = os.popen(f"/usr/bin/nsenter --mount={inside} -- ls {runtime.staging}/bin").read()
    assert listed.split() == ["python3"]
    table = staged_mounts(inside)
    assert table[str(runtime.staging)] == table["/usr"] == "overlay"
    assert str(private) not in os.popen(f"/usr/bin/nsenter --mount={inside} -- cat /proc/self/mountinfo").read()


@NEEDS_ROOT
def test_a_runtime_under_usr_is_seen_through_the_staged_usr_alone(tmp_path):
    runtime = Runtime("system", "/usr/bin/env", tmp_path / "runtimes", as_root=True)
    assert runtime.staging is None and runtime.bind_args() == []
    inside = Path(f"/proc/{os.getpid()}/fd/{runtime.staged_namespace()}")
    assert spawn_prefix(runtime, 200001) == [
        "/usr/bin/nsenter",
        f"--mount={inside}",
        "--setuid=200001",
        "--setgid=200001",
        "--",
    ]
    assert staged_mounts(inside)["/usr"] == "overlay"


@NEEDS_ROOT
def test_a_lowest_layer_that_is_not_empty_stops_the_staging(tmp_path):
    runtime = Runtime("system", "/usr/bin/env", tmp_path / "runtimes", as_root=True)
    runtime.empty_layer.mkdir(parents=True)
    (runtime.empty_layer / "planted").write_text("it would show through /usr")

    with pytest.raises(OSError, match="must be empty"):
        runtime.staged_namespace()


# --- the work directory ------------------------------------------------------------------

OTHER_USER = 4242  # a local user who is not the server


@NEEDS_ROOT
@pytest.mark.parametrize(
    "plant",
    [
        pytest.param(
            lambda path: (path.mkdir(), os.chown(path, OTHER_USER, OTHER_USER)), id="made-first-by-another-user"
        ),
        pytest.param(lambda path: (path.mkdir(), path.chmod(0o777)), id="writable-by-others"),
        pytest.param(
            lambda path: (path.parent.joinpath("elsewhere").mkdir(), path.symlink_to("elsewhere")), id="a-link"
        ),
        pytest.param(
            lambda path: (path.parent.chmod(0o777), path.mkdir()), id="in-a-directory-others-can-write-without-sticky"
        ),
        pytest.param(
            lambda path: (os.chown(path.parent, OTHER_USER, OTHER_USER), path.mkdir()), id="in-another-users-directory"
        ),
    ],
)
def test_a_work_directory_another_user_could_swap_things_in_is_refused_before_any_sandbox(tmp_path, plant):
    # The default work directory is <tmp>/integr8scode: a local user could make it before the
    # server does, then replace the runtime's staging directory or plant files in the empty
    # layer that shows through the sandbox's /usr. The runner refuses such a directory.
    work_dir = tmp_path / "shared" / "integr8scode"
    work_dir.parent.mkdir()
    plant(work_dir)
    runner = LocalRunner(work_dir=str(work_dir), warm=0)
    try:
        assert any("cannot be trusted" in problem for problem in runner.check())
        spec = RunSpec("x", "print('hi')", "", next(iter(runner.runtimes())), limit_caps())
        with pytest.raises(RunnerError, match="cannot be trusted"):
            runner.start(spec, sink=None)
        with pytest.raises(OSError, match="cannot be trusted"):
            runner.reap(older_than=timedelta(seconds=0))
        assert not (work_dir / "runtimes").exists() and not (work_dir / "slots").exists()
    finally:
        runner.launchers.close()
        os.chown(work_dir.parent, 0, 0)


@NEEDS_ROOT
def test_a_work_directory_in_a_sticky_shared_directory_is_made_private_and_used(tmp_path):
    shared = tmp_path / "tmp"
    shared.mkdir(mode=0o1777)
    shared.chmod(0o1777)
    runner = LocalRunner(work_dir=str(shared / "integr8scode"), warm=0)
    try:
        assert not any("cannot be trusted" in problem for problem in runner.check())
        assert not (shared / "integr8scode").exists()  # a check makes nothing
        runner.reap(older_than=timedelta(seconds=0))
        info = (shared / "integr8scode").stat()
        assert (info.st_uid, info.st_mode & 0o777) == (os.geteuid(), 0o711)
    finally:
        runner.launchers.close()


def staged_mounts(namespace: Path) -> dict[str, str]:
    """Mount point -> filesystem type, as a process in ``namespace`` sees them."""
    table = os.popen(f"/usr/bin/nsenter --mount={namespace} -- cat /proc/self/mountinfo").read()
    return {line.split()[4]: line.partition(" - ")[2].split()[0] for line in table.splitlines()}


@NEEDS_ROOT
def test_no_process_of_a_sandbox_holds_a_namespace_of_the_host():
    # Read from the host: the script itself may not look at the entry's descriptors.
    runner = LocalRunner(warm=0)
    sink = FirstLine()
    spec = RunSpec(
        "held", "import time\nprint('up', flush=True)\ntime.sleep(30)", "", next(iter(runner.runtimes())), limit_caps()
    )
    sandbox = runner.start(spec, sink)
    follower = threading.Thread(target=sandbox.wait)
    follower.start()
    try:
        assert sink.seen.wait(10)
        processes = [int(pid) for pid in (sandbox.cgroup.memory_dir / "cgroup.procs").read_text().split()]
        held = [os.readlink(fd) for pid in processes for fd in Path(f"/proc/{pid}/fd").iterdir()]
    finally:
        sandbox.stop()
        follower.join()
        runner.launchers.close()
    assert len(processes) >= 3  # bwrap, the entry and the script
    assert any(target.startswith("pipe:") for target in held)
    assert not [target for target in held if ":[" in target and not target.startswith(("pipe:", "anon_inode:"))]


class FirstLine:
    def __init__(self):
        self.seen = threading.Event()

    def write(self, stream, text):
        self.seen.set()


# --- bubblewrap itself ---------------------------------------------------------------------


def test_a_bubblewrap_too_old_for_the_sandbox_options_is_a_configuration_problem(tmp_path):
    old = tmp_path / "bwrap"
    usage = "usage: bwrap [OPTIONS...] --args FD --ro-bind-data FD DEST --perms --size --seccomp --bind-fd"
    old.write_text(f"#!/bin/sh\necho '{usage}'\n")
    old.chmod(0o755)

    problems = LocalRunner(bwrap=str(old), warm=0).check()

    assert BWRAP_TOO_OLD.format(path=old, options="--disable-userns") in problems


# --- the system-call filter ----------------------------------------------------------------


def test_the_filter_is_compiled_once_as_bpf_instructions():
    compiled = seccomp.program()
    assert compiled and len(compiled) % 8 == 0  # struct sock_filter: 8 bytes each
    assert seccomp.program() is compiled


def test_without_libseccomp_the_runner_says_what_to_install_and_starts_no_sandbox(monkeypatch):
    monkeypatch.setattr(seccomp, "_library", lambda: None)
    monkeypatch.setattr(seccomp, "program", seccomp.program.__wrapped__)  # not the cached filter

    runner = LocalRunner(warm=0)
    assert seccomp.LIBSECCOMP_MISSING in runner.check()
    spec = RunSpec("x", "print(1)", "", next(iter(runner.runtimes())), limit_caps())
    with pytest.raises(RunnerError, match="libseccomp is missing"):
        runner.start(spec, None)
