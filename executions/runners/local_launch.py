"""Starting bubblewrap ahead of time, so a run does not wait for it.

Spawning a sandbox has a slow part that does not depend on the run: forking the server,
joining a cgroup (on cgroup v1 that waits for an RCU grace period, often 5-20 ms), dropping
to the sandbox uid and exec'ing bwrap. A :class:`Launcher` does all of it in advance and
leaves bwrap blocked reading its arguments (``bwrap --args FD``); firing it writes the
script and the arguments, and the sandbox starts at once. A :class:`LauncherPool` keeps a
few launchers warm, refilled by one background thread.
"""

from __future__ import annotations

import atexit
import os
import select
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from executions.runners import cgroups
from executions.runners.local_setup import Runtime, staging_preexec

DATA_FILES = ("entry", "settings", "script", "stdin")


class Launcher:
    """A bwrap process, already in its cgroup and uid, waiting for its arguments."""

    def __init__(
        self,
        *,
        bwrap: str,
        entry: Path,
        command: list[str],
        runtime: Runtime,
        uid: int | None,
        cgroup: cgroups.RunCgroup | None,
        release_uid: Callable[[int], None] | None = None,
    ):
        self.runtime, self.uid, self.cgroup = runtime, uid, cgroup
        self.release_uid = release_uid
        self.fds = {"entry": os.open(entry, os.O_RDONLY | os.O_CLOEXEC)}
        self.fds.update({name: os.memfd_create(name, os.MFD_CLOEXEC) for name in DATA_FILES[1:]})
        args_r, self.args_w = os.pipe2(os.O_CLOEXEC)
        try:
            self.proc = subprocess.Popen(
                [bwrap, "--args", str(args_r), *command],  # bwrap takes only options from --args
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=[args_r, *self.fds.values()],
                preexec_fn=self._preexec,
                start_new_session=True,  # the host backstop kills the whole group
                cwd="/",
                env={},
            )
        except BaseException:
            os.close(self.args_w)
            self._close_fds()
            raise
        finally:
            os.close(args_r)
        # Readable once bwrap has exited; pinned now, while bwrap cannot have been waited for.
        self.pidfd = os.pidfd_open(self.proc.pid)
        try:
            # bwrap clones the sandbox only once it has its arguments, so joining the cgroup
            # from here is as good as before exec, and keeps the slow part (an RCU grace
            # period on cgroup v1) out of the forked child: until it execs, that child holds
            # a copy of every other idle launcher's argument pipe, delaying those runs.
            if cgroup is not None:
                cgroup.attach(self.proc.pid)
        except BaseException:
            self.discard(release=False)
            raise

    def _preexec(self) -> None:
        # Runs in the forked child before bwrap: no imports, nothing slow.
        staging_preexec(self.runtime)
        if self.uid is not None:
            os.setgroups([])
            os.setgid(self.uid)
            os.setuid(self.uid)

    @property
    def alive(self) -> bool:
        """Whether bwrap is still waiting for its arguments and can run a sandbox.

        An idle bwrap writes nothing and keeps its end of every pipe open, so any event on
        them means it is gone or going (killed by a reaper, by a cgroup removal...), even
        before it can be waited for; a stopped or dying one does not count either."""
        if self.proc.poll() is not None:
            return False
        poller = select.poll()
        for fd in (self.pidfd, self.proc.stdout.fileno(), self.proc.stderr.fileno(), self.args_w):
            poller.register(fd, select.POLLIN)  # POLLHUP and POLLERR are always reported
        if poller.poll(0):
            return False
        return _runnable(self.proc.pid)

    def fire(self, args: list[str], *, files: dict[str, bytes]) -> None:
        """Hand bwrap the run's files and options: the sandbox starts now.

        Raises OSError (BrokenPipeError when bwrap is gone) if it cannot be handed over."""
        try:
            for name, data in files.items():
                os.pwrite(self.fds[name], data, 0)
            data = memoryview(b"".join(arg.encode() + b"\0" for arg in args))
            while data:
                data = data[os.write(self.args_w, data) :]
        finally:
            os.close(self.args_w)
            self.args_w = -1
            self._close_fds()

    def discard(self, *, release: bool = True) -> None:
        """Never (successfully) fired: end bwrap, free its cgroup, then its uid.

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
        for pipe in (self.proc.stdout, self.proc.stderr):
            pipe.close()  # not communicate(): a stray copy of a pipe must not hold this up
        self.proc.wait()
        os.close(self.pidfd)
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
    """Keeps ``size`` idle launchers per runtime; ``take`` never waits for the refill."""

    def __init__(self, *, size: int, factory: Callable[[Runtime], Launcher]):
        self.size = size
        self.factory = factory
        self._idle: dict[str, deque[Launcher]] = {}
        self._runtimes: dict[str, Runtime] = {}
        self._wanted = threading.Condition()
        self._thread: threading.Thread | None = None
        atexit.register(self.close)

    def take(self, runtime: Runtime, *, warm: bool = True) -> Launcher:
        """An idle launcher that can still run (broken ones are discarded on the way), or a
        fresh one when there is none (or ``warm`` is False)."""
        while True:
            with self._wanted:
                self._runtimes.setdefault(runtime.name, runtime)
                idle = self._idle.setdefault(runtime.name, deque())
                launcher = idle.popleft() if idle and warm else None
                self._wake_refill()
            if launcher is None:
                return self.factory(runtime)
            if launcher.alive:
                return launcher
            threading.Thread(target=launcher.discard, name="sandbox-discard", daemon=True).start()

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

    def held_uids(self) -> set[int]:
        with self._wanted:
            return {launcher.uid for queue in self._idle.values() for launcher in queue if launcher.uid is not None}

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
                self._wanted.wait_for(lambda: self.size <= 0 or self._short_runtime() is not None)
                if self.size <= 0:
                    return  # closed
                runtime = self._short_runtime()
            try:
                launcher = self.factory(runtime)
            except Exception:
                with self._wanted:
                    self._wanted.wait(1.0)  # e.g. no free uid: retry later, not in a hot loop
                continue
            with self._wanted:
                closed = self.size <= 0
                if not closed:
                    self._idle[runtime.name].append(launcher)
            if closed:
                launcher.discard()  # close() came while it was being spawned
                return

    def _short_runtime(self) -> Runtime | None:
        for name, idle in self._idle.items():
            if len(idle) < self.size:
                return self._runtimes[name]
        return None
