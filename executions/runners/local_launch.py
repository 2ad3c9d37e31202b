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
    ):
        self.runtime, self.uid, self.cgroup = runtime, uid, cgroup
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
            self._close_fds()
            raise
        finally:
            os.close(args_r)

    def _preexec(self) -> None:
        # Runs in the forked child before bwrap: no imports, nothing slow beyond the attach.
        staging_preexec(self.runtime)
        if self.cgroup is not None:
            self.cgroup.attach()
        if self.uid is not None:
            os.setgroups([])
            os.setgid(self.uid)
            os.setuid(self.uid)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def fire(self, args: list[str], *, files: dict[str, bytes]) -> None:
        """Hand bwrap the run's files and options: the sandbox starts now."""
        try:
            for name, data in files.items():
                os.pwrite(self.fds[name], data, 0)
            os.write(self.args_w, b"".join(arg.encode() + b"\0" for arg in args))
        finally:
            os.close(self.args_w)
            self._close_fds()

    def discard(self) -> None:
        """Never fired: end bwrap (it exits on the closed argument pipe) and free its cgroup."""
        os.close(self.args_w)
        self._close_fds()
        self.proc.kill()
        self.proc.communicate()
        if self.cgroup is not None:
            self.cgroup.remove()

    def _close_fds(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}


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

    def take(self, runtime: Runtime) -> Launcher:
        with self._wanted:
            self._runtimes.setdefault(runtime.name, runtime)
            idle = self._idle.setdefault(runtime.name, deque())
            launcher = idle.popleft() if idle else None
            self._wake_refill()
        if launcher is not None and launcher.alive:
            return launcher
        if launcher is not None:
            launcher.discard()
        return self.factory(runtime)

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
        if self._thread is None:
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
                self._idle[runtime.name].append(launcher)

    def _short_runtime(self) -> Runtime | None:
        for name, idle in self._idle.items():
            if len(idle) < self.size:
                return self._runtimes[name]
        return None
