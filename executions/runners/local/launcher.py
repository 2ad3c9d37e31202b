"""Starting sandboxes ahead of time, so a run does not wait for one.

Most of a sandbox's start does not depend on the run: forking the server, joining a cgroup
(on cgroup v1 that waits for an RCU grace period, often 5-20 ms), dropping to the sandbox
uid, bwrap building the namespaces and mounts, and the entry's interpreter starting up. A
:class:`Launcher` does all of it in advance, up to the entry waiting on its standard input
for the run's settings; the script and its stdin go into the launcher's job directory
(``scratch.JobDir``), which the sandbox sees read-only as ``/sandbox``. Running is then
writing two files and one line. A :class:`LauncherPool` keeps a few launchers armed for each runtime and scratch size
in use, refilled by one background thread.
"""

from __future__ import annotations

import atexit
import os
import select
import signal
import subprocess
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from executions.runners.base import RunFile
from executions.runners.local import cgroups
from executions.runners.local.scratch import JobDir
from executions.runners.local.setup import Runtime, kill_group
from executions.sandbox.protocol import START_LINE

ARM_TIMEOUT_SECONDS = 10.0
ARGS_FD = "{arguments}"  # in a Spawn's argv: the descriptor its options are read from


@dataclass
class Spawn:
    """How an isolation level starts one sandbox (see bwrap.py and gvisor.py)."""

    argv: list[str]
    fds: dict[str, int]  # opened for this sandbox; closed once it is armed
    passed: list[int]  # descriptors the process inherits
    arguments: list[str] | None = None  # written, NUL-separated, to the pipe named by ARGS_FD
    environment: dict[str, str] = field(default_factory=dict)
    joins_cgroup: bool = False  # the command moves itself into the run's cgroup before it execs
    name: str = ""  # what the isolation level calls the sandbox (its container id)

    def argument_bytes(self) -> bytes:
        """The options, as bubblewrap's --args reads them: each ended by a NUL."""
        return b"".join(arg.encode() + b"\0" for arg in self.arguments or ())


class Isolation(Protocol):
    """An isolation level of the local runner (bwrap.py, gvisor.py): how it starts a sandbox, and
    what the rest of the runner needs to know of it."""

    name: str
    nproc_offset: int  # RLIMIT_NPROC = the processes limit + this
    cpu_clock_shared: bool  # whether the sandbox's CPU clock is the host's (see outcome.HostView)
    preloads: bool  # whether its supervisor can import a runtime's preload ahead of the run

    def spawn(self, **parts) -> Spawn: ...

    def shelter(self, launcher: Launcher) -> None: ...

    def cgroup_limits(self, limits) -> tuple[int, int]: ...

    def kill(self, sandbox) -> None: ...

    def release(self, name: str) -> None: ...

    def reap(self, held_if_free) -> None: ...

    def problems(self, *, as_root: bool) -> list[str]: ...


class Launcher:
    """A sandbox with its entry up, in its cgroup and uid, waiting for a run."""

    nproc_offset: int | None = None  # None: the isolation level's
    forked = False  # True: from a template (template.py), whose uid it shares and does not release
    template = None

    def __init__(
        self,
        *,
        spawn: Spawn,
        runtime: Runtime,
        uid: int | None,
        cgroup: cgroups.RunCgroup | None,
        job_dir: JobDir,
        release_uid: Callable[[int], None] | None = None,
        release: Callable[[str], None] | None = None,
    ):
        self.runtime, self.uid, self.cgroup, self.job_dir = runtime, uid, cgroup, job_dir
        self.release_uid, self.release = release_uid, release
        self.name, self.fds = spawn.name, spawn.fds
        self.arguments = spawn.argument_bytes() if spawn.arguments is not None else None
        self.args_w = -1
        argv, passed = spawn.argv, spawn.passed
        if spawn.arguments is not None:
            args_r, self.args_w = os.pipe2(os.O_CLOEXEC)
            argv, passed = [str(args_r) if arg == ARGS_FD else arg for arg in argv], [args_r, *passed]
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,  # the run's settings, one line
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=passed,
                start_new_session=True,  # the host backstop kills the whole group
                cwd="/",
                env=spawn.environment,
            )
        except BaseException:
            if self.args_w >= 0:
                os.close(self.args_w)
            self._close_fds()
            raise
        finally:
            if spawn.arguments is not None:
                os.close(args_r)
        # Readable once the sandbox's starter has exited; pinned now, while it cannot have been waited for.
        self.pidfd = os.pidfd_open(self.proc.pid)
        try:
            # bwrap clones the sandbox only once it has its arguments, so joining the cgroup
            # from here is as good as before exec, and keeps the slow part (an RCU grace
            # period on cgroup v1) out of the forked child: until it execs, that child holds
            # a copy of every other idle launcher's argument pipe, delaying those runs.
            if cgroup is not None and not spawn.joins_cgroup:
                cgroup.attach(self.proc.pid)
        except BaseException:
            self.discard(release=False)
            raise

    def arm(self) -> None:
        """Hand the sandbox its options, if it reads any, and wait until the entry is up inside.

        Raises OSError (BrokenPipeError when it is gone, TimeoutError) if it does not come up."""
        try:
            if self.arguments is not None:
                write_all(self.args_w, self.arguments)
        finally:
            if self.args_w >= 0:
                os.close(self.args_w)
                self.args_w = -1
            self._close_fds()
            self.job_dir.close_fds()
        read_start_line(self.proc.stdout.fileno(), ARM_TIMEOUT_SECONDS)

    @property
    def alive(self) -> bool:
        """Whether the sandbox is still idle and can take a run.

        An idle sandbox writes nothing and keeps its end of every pipe open, so any event on
        them means it is gone or going (killed by a reaper, by a cgroup removal...), even
        before it can be waited for; a stopped or dying bwrap does not count either."""
        if self.proc.poll() is not None:
            return False
        poller = select.poll()
        for fd in (self.pidfd, self.proc.stdout.fileno(), self.proc.stderr.fileno()):
            poller.register(fd, select.POLLIN)  # POLLHUP and POLLERR are always reported
        poller.register(self.proc.stdin.fileno(), 0)  # POLLERR once the entry's end is closed
        if poller.poll(0):
            return False
        return _runnable(self.proc.pid)

    def wait4(self) -> tuple[int | None, os.struct_rusage | None]:
        """Block until bubblewrap has exited: its exit code, and its rusage (with every process
        of the sandbox, all reaped inside it)."""
        _, status, rusage = os.wait4(self.proc.pid, 0)
        return os.waitstatus_to_exitcode(status), rusage

    def kill_run(self, sandbox) -> None:
        sandbox.runner.isolation.kill(sandbox)

    def kill_hard(self) -> None:
        """The backstop: bubblewrap's whole process group, and whatever is in the cgroup."""
        kill_group(self.proc.pid)
        if self.cgroup is not None:
            self.cgroup.kill_all()

    def run(
        self,
        settings: str,
        *,
        script: bytes,
        stdin: bytes,
        files: tuple[RunFile, ...] = (),
        interactive: bool = False,
        source: str | None = None,
        support: dict[str, str] | None = None,
        keep_open: bool = False,
    ) -> None:
        """Start the run: its script and stdin into the job directory, its files into the
        working directory, its settings to the entry. An interactive run's stdin follows its
        settings on the same pipe instead, which stays open for what is typed later
        (``proc.stdin``: see LocalSandbox.feed).

        Raises OSError (BrokenPipeError when the entry is gone) if the entry cannot be told."""
        self.job_dir.write("script", script, file_name=source)
        for name, content in (support or {}).items():
            self.job_dir.write("script", content.encode(), file_name=name)
        self.job_dir.write("stdin", b"" if interactive else stdin)
        self.job_dir.place(files)
        try:
            self.proc.stdin.write(settings.encode() + b"\n" + (stdin if interactive and not keep_open else b""))
            self.proc.stdin.flush()
        except BaseException:
            interactive = keep_open = False
            raise
        finally:
            if not (interactive or keep_open):
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass  # the flush above has raised already

    def remove_job_dir(self) -> None:
        self.job_dir.remove()
        if self.release is not None:
            self.release(self.name)  # what the isolation level keeps of the sandbox outside it

    def discard(self, *, release: bool = True) -> None:
        """Never (successfully) run: end bwrap, free its cgroup, then its uid.

        bwrap is killed before its argument pipe is closed: on end of file it would go on and
        run the command without any of the sandbox's options."""
        if self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.args_w >= 0:
            os.close(self.args_w)
            self.args_w = -1
        self._close_fds()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                pipe.close()  # not communicate(): a stray copy of a pipe must not hold this up
            except BrokenPipeError:
                pass
        self.proc.wait()
        os.close(self.pidfd)
        self.remove_job_dir()
        if not release:
            return  # the caller frees the cgroup and the uid
        if self.cgroup is not None:
            self.cgroup.remove()
        if self.uid is not None and self.release_uid is not None:
            self.release_uid(self.uid)  # last: the uid guards the processes and the cgroup

    def _close_fds(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}


def read_start_line(fd: int, timeout: float) -> None:
    """Read exactly the entry's start line (then it waits for its settings: whatever follows
    belongs to the run). Raises OSError (BrokenPipeError when it is gone, TimeoutError)."""
    ready, deadline = b"", time.monotonic() + timeout
    while len(ready) < len(START_LINE):
        if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise TimeoutError("the sandbox entry did not come up")
        chunk = os.read(fd, len(START_LINE) - len(ready))
        if not chunk:
            raise BrokenPipeError("the sandbox ended before its entry came up")
        ready += chunk
    if ready != START_LINE:
        raise OSError(f"the sandbox entry said {ready!r} instead of {START_LINE!r}")


def memory_file(data: bytes) -> int:
    """A descriptor of an anonymous file holding ``data``, read from its start."""
    fd = os.memfd_create("sandbox", os.MFD_CLOEXEC)
    write_all(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _runnable(pid: int) -> bool:
    """Not exiting, not a zombie, not stopped, and no signal on its way (from /proc).

    An idle bwrap handles no signal, so any pending one (a SIGKILL or SIGSTOP just sent,
    not acted on yet) is about to end or stop it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    pending = int(fields.get("SigPnd", "0"), 16) | int(fields.get("ShdPnd", "0"), 16)
    return fields.get("State", "X")[:1] in "RSD" and not pending


class LauncherPool:
    """Keeps ``size`` armed launchers for each kind in use (a runtime and a scratch size, which
    bwrap fixes when it mounts ``/tmp``); ``take`` never waits for the refill. The
    ``KINDS`` kinds asked for most recently are kept armed; others start cold."""

    KINDS = 4

    def __init__(self, *, size: int, factory: Callable[[Runtime, int], Launcher]):
        self.size = size
        self.factory = factory
        self._idle: OrderedDict[tuple[str, int], deque[Launcher]] = OrderedDict()  # most recent last
        self._runtimes: dict[str, Runtime] = {}
        self._wanted = threading.Condition()
        self._thread: threading.Thread | None = None
        atexit.register(self.close)

    def take(self, runtime: Runtime, disk_mb: int, *, warm: bool = True) -> tuple[Launcher, bool]:
        """An idle launcher that can still run (broken ones are discarded on the way), or a
        fresh one when there is none (or ``warm`` is False); and whether it was idle."""
        kind = (runtime.name, disk_mb)
        while True:
            with self._wanted:
                self._runtimes.setdefault(runtime.name, runtime)
                idle = self._idle.setdefault(kind, deque())
                self._idle.move_to_end(kind)
                evicted = self._evict()
                launcher = idle.popleft() if idle and warm else None
                self._wake_refill()
            for old in evicted:
                _discard_later(old)
            if launcher is None:
                return self.factory(runtime, disk_mb), False
            if launcher.alive:
                return launcher, True
            _discard_later(launcher)

    def _evict(self) -> list[Launcher]:
        evicted = []
        while len(self._idle) > self.KINDS:
            _, idle = self._idle.popitem(last=False)
            evicted += idle
        return evicted

    def close(self) -> None:
        """Discard the idle launchers (also at exit, so their cgroups do not leak)."""
        with self._wanted:
            self.size = 0
            self._wanted.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)  # let a spawn in progress finish, then discard it
        with self._wanted:
            idle = [launcher for queue in self._idle.values() for launcher in queue]
            self._idle.clear()
        for launcher in idle:
            launcher.discard()

    def discard_idle(self, unwanted: Callable[[Launcher], bool]) -> None:
        """Discard the idle launchers ``unwanted`` picks (those of a retired template)."""
        with self._wanted:
            dropped = [launcher for queue in self._idle.values() for launcher in queue if unwanted(launcher)]
            for queue in self._idle.values():
                for launcher in dropped:
                    if launcher in queue:
                        queue.remove(launcher)
            self._wake_refill()
        for launcher in dropped:
            _discard_later(launcher)

    def idle(self, runtime_name: str) -> list[Launcher]:
        with self._wanted:
            return [launcher for (name, _), queue in self._idle.items() if name == runtime_name for launcher in queue]

    def _wake_refill(self) -> None:
        if self.size <= 0:
            return
        if self._thread is None or not self._thread.is_alive():
            # One long-lived thread spawns every warm bwrap: bwrap's --die-with-parent
            # follows the thread that forked it, so that thread must outlive the runs.
            self._thread = threading.Thread(target=self._refill_forever, name="sandbox-launchers", daemon=True)
            self._thread.start()
        self._wanted.notify()

    def _refill_forever(self) -> None:
        while True:
            with self._wanted:
                self._wanted.wait_for(lambda: self.size <= 0 or self._short_kind() is not None)
                if self.size <= 0:
                    return  # closed
                name, disk_mb = kind = self._short_kind()
                runtime = self._runtimes[name]
            try:
                launcher = self.factory(runtime, disk_mb)
            except Exception:
                with self._wanted:
                    self._wanted.wait(1.0)  # e.g. no free uid: retry later, not in a hot loop
                continue
            with self._wanted:
                kept = self.size > 0 and kind in self._idle
                if kept:
                    self._idle[kind].append(launcher)
            if not kept:
                launcher.discard()  # closed, or the kind was evicted, while it was being armed
                if self.size <= 0:
                    return

    def _short_kind(self) -> tuple[str, int] | None:
        for kind in reversed(self._idle):  # the most recently asked for first
            if len(self._idle[kind]) < self.size:
                return kind
        return None


def _discard_later(launcher: Launcher) -> None:
    threading.Thread(target=launcher.discard, name="sandbox-discard", daemon=True).start()
