"""Warm templates: each run of the bubblewrap level forked from a runtime that is already up.

A :class:`Template` is one bubblewrap sandbox per runtime, started as a uid of its own, in a
cgroup of its own (memory bounded), whose entry (``entry.py``, ``template=1``) has imported the
runtime's warm modules and waits on a socket. It never receives user data: a request is four
descriptors and nothing else. For each run, a :class:`ForkLauncher` makes the run's scratch
space (a detached tmpfs, ``scratch.DetachedScratch``) and its pipes, asks the template for a
fork, moves the fork into the run's cgroup, and lets it go on: the fork enters new namespaces,
mounts its scratch space, drops every capability, installs the whole system-call filter,
reseeds, and waits for its settings like any warm sandbox (``launcher.py``). The security
review of this design is ``docs/templates.md``.

The :class:`TemplatePool` keeps one template per runtime, started (and replaced when it dies,
grows past its memory bound, outlives its age or its runtime's files change) by one long-lived
thread. A run never waits for a template: without a ready one, it starts cold.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from executions.runners.local import cgroups
from executions.runners.local.launcher import ARGS_FD, Launcher, Spawn, read_start_line, write_all
from executions.runners.local.scratch import DetachedScratch
from executions.runners.local.setup import Runtime, children

log = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 120.0  # a template importing the data runtime's modules on a busy machine
FORK_TIMEOUT_SECONDS = 2.0  # the template answers a fork request at once
EXIT_REPORT_SECONDS = 5.0  # after a fork has gone, the template reports its status about at once
GO = b"g"  # on the settings pipe: the fork is in the run's cgroup, it may go on
TEMPLATE_PIDS = 64  # processes of the template's own cgroup: it, and forks not yet moved to their run's
REPLACE_AT = 0.8  # of its memory bound: a template that grew this far is replaced
FORK_PROCESSES = 2  # the fork between the template and the run's PID 1, and that PID 1


class TemplateGone(OSError):
    """The template cannot fork (it has died, or is being replaced)."""


class Template:
    """A runtime's template sandbox, ready to fork runs (see the module's docstring)."""

    def __init__(
        self,
        *,
        spawn: Spawn,
        runtime: Runtime,
        uid: int,
        cgroup: cgroups.RunCgroup,
        fingerprint: tuple,
        release: Callable[[Template], None],
    ):
        self.runtime, self.uid, self.cgroup, self.fingerprint = runtime, uid, cgroup, fingerprint
        self.started_at = time.monotonic()
        self._release = release
        self._lock = threading.Lock()
        self._forking = threading.Lock()
        self._replies: queue.Queue[int | None] = queue.Queue()
        self._exits: dict[int, int | None] = {}  # template pid -> wait status (None: never to come)
        self._exited = threading.Condition(self._lock)
        self._forks = 0  # forks not yet reported ended
        self.retired = False
        self.dead = False
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        args_r, args_w = os.pipe2(os.O_CLOEXEC)
        argv = [str(args_r) if arg == ARGS_FD else arg for arg in spawn.argv]
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=theirs,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=[args_r, *spawn.passed],
                start_new_session=True,
                cwd="/",
                env=spawn.environment,
            )
        finally:
            os.close(args_r)
            theirs.close()
        try:
            cgroup.attach(self.proc.pid)  # before bwrap has its arguments: nothing is started yet
            write_all(args_w, spawn.argument_bytes())
            os.close(args_w)
            args_w = -1
            for fd in spawn.fds.values():
                os.close(fd)
            read_start_line(self.proc.stdout.fileno(), START_TIMEOUT_SECONDS)
            self.pid = _only_child(self.proc.pid)  # the template itself, PID 1 of its sandbox
            threads = len(os.listdir(f"/proc/{self.pid}/task"))
            if threads != 1:  # a fork would copy a process whose other threads may hold locks
                raise OSError(f"the template runs {threads} threads after its imports: forking it is not safe")
        except BaseException as exc:
            if args_w >= 0:
                os.close(args_w)
            said = _available(self.proc.stderr.fileno())
            self.close()
            if isinstance(exc, OSError) and said:
                raise OSError(f"{exc} (it said: {said})") from exc
            raise
        self._reader = threading.Thread(target=self._read_reports, name="sandbox-template", daemon=True)
        self._reader.start()
        # What it writes on its stderr (warnings of its modules) must never fill the pipe.
        threading.Thread(target=self._log_stderr, name="sandbox-template-stderr", daemon=True).start()

    # --- forking ----------------------------------------------------------------------

    def fork(self, fds: list[int]) -> tuple[int, int]:
        """Ask for a fork holding ``fds`` (scratch, settings, stdout, stderr); its (pid in the
        template, pid on the host). Raises TemplateGone."""
        with self._lock:
            if self.dead or self.retired:
                raise TemplateGone("the template is being replaced")
            self._forks += 1
        try:
            with self._forking:  # one request at a time: the replies come in order
                socket.send_fds(self.control, [b"fork"], fds)
                inner = self._replies.get(timeout=FORK_TIMEOUT_SECONDS)
        except (OSError, queue.Empty) as exc:
            self._fork_ended()
            self.dead = True
            raise TemplateGone(f"the template did not fork: {exc!r}") from exc
        if inner is None:
            self._fork_ended()
            raise TemplateGone("the template ended")
        host = _child_with_inner_pid(self.pid, inner)
        if host is None:
            self.wait_exit(inner, timeout=EXIT_REPORT_SECONDS)
            raise TemplateGone("the fork ended before it could be found")
        return inner, host

    def wait_exit(self, inner: int, *, timeout: float) -> int | None:
        """The wait status of a fork that has ended (None if the template cannot tell any more)."""
        with self._exited:
            self._exited.wait_for(lambda: inner in self._exits or self.dead, timeout=timeout)
            status = self._exits.pop(inner, None)
        self._fork_ended()  # asked once per fork: a dead template's forks count as ended too
        return status

    def _fork_ended(self) -> None:
        with self._lock:
            self._forks -= 1
            done = self.retired and self._forks <= 0
        if done:
            self.close()

    def _read_reports(self) -> None:
        while True:
            try:
                message = self.control.recv(64)
            except OSError:
                message = b""
            if not message:
                break
            kind, _, rest = message.partition(b" ")
            if kind == b"forked":
                self._replies.put(int(rest))
            elif kind == b"exit":
                pid, status = (int(part) for part in rest.split())
                with self._exited:
                    self._exits[pid] = status
                    self._exited.notify_all()
        with self._exited:
            self.dead = True
            self._exited.notify_all()
        self._replies.put(None)

    def _log_stderr(self) -> None:
        try:
            while chunk := os.read(self.proc.stderr.fileno(), 4096):
                log.warning("The template of %s said: %s", self.runtime.name, chunk.decode(errors="replace").strip())
        except (OSError, ValueError):
            pass  # closed with the template

    # --- its life ---------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return not self.dead and self.proc.poll() is None

    def memory_bytes(self) -> int:
        """The most memory its cgroup has used (the template, and forks before they moved out)."""
        usage = self.cgroup.usage()
        return (usage.peak_memory_kb or 0) * 1024

    def retire(self) -> None:
        """No more forks; closed once the runs already forked have ended."""
        with self._lock:
            self.retired = True
            done = self._forks <= 0
        if done:
            self.close()

    def close(self) -> None:
        """End the template (its sandbox, and so every run still forked from it) and free its
        cgroup and uid."""
        with self._lock:
            if getattr(self, "_closed", False):
                return
            self._closed = True
            self.dead = True
        try:
            self.control.shutdown(socket.SHUT_RDWR)  # the template ends at the end of its requests
        except OSError:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            pipe.close()
        self.control.close()
        self.cgroup.remove()
        self._release(self)


class ForkLauncher(Launcher):
    """A warm sandbox forked from a template: the same life as a :class:`Launcher`'s (armed
    ahead, handed one run, then discarded), with the template in bubblewrap's place."""

    forked = True
    nproc_offset = FORK_PROCESSES  # the fork and the run's PID 1 share the script's uid and user namespace

    def __init__(self, *, template: Template, cgroup: cgroups.RunCgroup, job_dir: DetachedScratch):
        self.template, self.runtime, self.cgroup, self.job_dir = template, template.runtime, cgroup, job_dir
        self.uid, self.release_uid, self.release, self.name = template.uid, None, None, ""
        self.arguments, self.fds, self.args_w = None, {}, -1
        self.inner = None
        settings_r, settings_w = os.pipe2(os.O_CLOEXEC)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        self.proc = _Fork(settings_w, out_r, err_r)
        try:
            self.inner, pid = template.fork([job_dir.mount_fd, settings_r, out_w, err_w])
            self.proc.pid = pid
            self.pidfd = os.pidfd_open(pid)
        except BaseException:
            for fd in (settings_r, out_w, err_w):
                os.close(fd)
            self.proc.close_pipes()
            job_dir.remove()
            raise
        for fd in (settings_r, out_w, err_w):
            os.close(fd)
        try:
            cgroup.attach(pid)  # the slow part on cgroup v1, done here ahead of the run
            self.proc.stdin.write(GO)
            self.proc.stdin.flush()
        except BaseException:
            self.discard(release=False)
            raise

    def arm(self) -> None:
        read_start_line(self.proc.stdout.fileno(), START_TIMEOUT_SECONDS)

    @property
    def alive(self) -> bool:
        return not self.template.retired and not self.template.dead and super().alive

    def kill_run(self, sandbox) -> None:
        """Kill the run's PID 1 (the kernel then ends its whole namespace), else the fork."""
        if not any(cgroups.kill(pid) for pid in children(self.proc.pid)):
            cgroups.kill(self.proc.pid)

    def kill_hard(self) -> None:
        self.cgroup.kill_all()

    def wait4(self) -> tuple[int | None, None]:
        """The fork's exit code, as the template reports it once the fork has gone (None when it
        cannot: the template died with it). No rusage: the cgroup measures the run."""
        select.select([self.pidfd], [], [])
        status = self.template.wait_exit(self.inner, timeout=EXIT_REPORT_SECONDS)
        self.inner = None
        return (None if status is None else os.waitstatus_to_exitcode(status)), None

    def discard(self, *, release: bool = True) -> None:
        """Never (successfully) run: kill it, wait for the template's report, free its cgroup."""
        if self.inner is not None:
            self.kill_hard()
            cgroups.kill(self.proc.pid)  # not in the cgroup yet, if moving it failed
            self.wait4()
        self.proc.close_pipes()
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
        self.job_dir.remove()
        if release:
            self.cgroup.remove()


class _Fork:
    """What the runner keeps of a fork's process, shaped like the part of a Popen it uses."""

    def __init__(self, settings_w: int, out_r: int, err_r: int):
        self.stdin = open(settings_w, "wb", buffering=0)  # noqa: SIM115 - closed with the launcher
        self.stdout = open(out_r, "rb", buffering=0)  # noqa: SIM115
        self.stderr = open(err_r, "rb", buffering=0)  # noqa: SIM115
        self.pid = -1
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def close_pipes(self) -> None:
        for pipe in (self.stdin, self.stdout, self.stderr):
            try:
                pipe.close()
            except OSError:
                pass


class TemplatePool:
    """One template per runtime, each started and replaced by one long-lived thread (bwrap's
    ``--die-with-parent`` follows the thread that started it)."""

    def __init__(
        self,
        *,
        factory: Callable[[Runtime], Template],
        retired: Callable[[Template], None],
        max_age_seconds: float,
        memory_bytes: int,
    ):
        self.factory, self.retired, self.max_age, self.memory_bytes = factory, retired, max_age_seconds, memory_bytes
        self._templates: dict[str, Template] = {}
        self._wanted: dict[str, Runtime] = {}
        self._failures: dict[str, float] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        atexit.register(self.close)

    def get(self, runtime: Runtime, fingerprint: tuple) -> Template | None:
        """The runtime's ready template, or None (then one is being started: start cold)."""
        with self._changed:
            template = self._templates.get(runtime.name)
            if template is not None and not self._usable(template, fingerprint):
                del self._templates[runtime.name]
                retired, template = template, None
            else:
                retired = None
            if template is None and not self._closed:
                self._wanted[runtime.name] = runtime
                self._start_thread()
                self._changed.notify_all()
        if retired is not None:
            retired.retire()
            self.retired(retired)
        return template

    def _usable(self, template: Template, fingerprint: tuple) -> bool:
        if not template.alive or template.retired:
            return False
        if template.fingerprint != fingerprint:
            return False  # the runtime's files (or the entry) changed since it started
        if time.monotonic() - template.started_at > self.max_age:
            return False
        return template.memory_bytes() <= self.memory_bytes * REPLACE_AT  # the cgroup stops it at the bound

    def wait_ready(self, runtime: Runtime, fingerprint: tuple, *, timeout: float) -> Template | None:
        """For tests and the bench: the runtime's template once it is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (template := self.get(runtime, fingerprint)) is not None:
                return template
            with self._changed:
                self._changed.wait(0.05)
        return None

    def templates(self) -> dict[str, Template]:
        with self._changed:
            return dict(self._templates)

    def _start_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._start_forever, name="sandbox-templates", daemon=True)
            self._thread.start()

    def _start_forever(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._closed or self._wanted)
                if self._closed:
                    break
                name, runtime = next(iter(self._wanted.items()))
            try:
                template = self.factory(runtime)
            except Exception as exc:
                log.warning("The template of runtime %s could not be started: %s", name, exc)
                with self._changed:
                    self._failures[name] = time.monotonic()
                    self._changed.wait(5.0)  # not in a hot loop: its runs start cold meanwhile
                continue
            with self._changed:
                self._wanted.pop(name, None)
                if self._closed:
                    kept = False
                else:
                    self._templates[name], kept = template, True
                self._changed.notify_all()
            if not kept:
                template.close()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            templates = list(self._templates.values())
            self._templates.clear()
            self._changed.notify_all()
        for template in templates:
            template.close()


def _available(fd: int) -> str:
    """What can be read from ``fd`` now, without waiting."""
    data = b""
    while len(data) < 4096 and select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


def _only_child(pid: int) -> int:
    found = children(pid)
    if len(found) != 1:
        raise OSError(f"bubblewrap has {len(found)} children instead of the template")
    return found[0]


def _child_with_inner_pid(parent: int, inner: int) -> int | None:
    """The host pid of the child of ``parent`` that is ``inner`` in the template's PID namespace."""
    for child in children(parent):
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("NSpid:") and int(line.split()[-1]) == inner:
                return child
    return None
