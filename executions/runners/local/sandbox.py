"""One run in a bubblewrap sandbox that a :class:`~executions.runners.local.launcher.Launcher`
started ahead: handing it the run, streaming the entry's framed output into the sink, the
host-side backstops (nothing the sandbox says about limits is trusted), the host's own
measurement of how it ended (bubblewrap's exit status, the cgroup's CPU time and peak memory,
the scratch space's fullness; see ``outcome.settle``), and the clean-up."""

from __future__ import annotations

import os
import select
import threading
import time
from dataclasses import astuple
from pathlib import Path
from typing import Protocol

from executions.runners.base import ErrorType, OutputSink, RunResult, RunSpec, Sandbox
from executions.runners.files import collect, reported_by
from executions.runners.languages import Language
from executions.runners.local import cgroups
from executions.runners.local.launcher import Isolation, Launcher
from executions.runners.local.scratch import GIVEN_LIST, JOB_FILES
from executions.runners.local.setup import SlotPool, children, end_processes_of
from executions.runners.outcome import HostView, settle
from executions.sandbox.protocol import START_LINE, Decoder

SANDBOX_BROKE = "The sandbox ended without reporting how (bubblewrap said: {detail})"
HOST_TIMEOUT = "The sandbox did not end by itself and was killed at the host deadline"
LINGERED = "the sandbox went on after its exit record"
ADDRESS_SPACE_HEADROOM = 512 << 20  # with a cgroup, RLIMIT_AS only stops absurd mappings
READ_BYTES = 64 * 1024
KILL_ESCALATION_SECONDS = 1.0  # a killed sandbox still not gone by then: kill bwrap too
EXIT_GRACE_SECONDS = 1.0  # after its exit record the entry ends at once; not by then: killed
STDERR_KEPT = 4096  # bubblewrap's own complaints, for the error message

JOB_DIR = "/sandbox"  # where the sandbox sees its launcher's job directory, read-only
WORK_DIR = "/work"  # the script's working directory: its files in, and its files out
SANDBOX_FILES = {
    "entry": "/opt/integr8scode/entry.pyc",  # compiled for the runtime, see Runtime.compiled
    **{name: f"{JOB_DIR}/{file}" for name, file in JOB_FILES.items()},  # script and stdin
}


class Host(Protocol):
    """What a sandbox needs of the runner that made it (the LocalRunner)."""

    options: dict
    isolation: Isolation
    slots: SlotPool
    languages: dict[str, Language]


class LauncherBroken(Exception):
    """The launcher could not be handed the run (the script did not start); ``__cause__`` says why."""


class LocalSandbox(Sandbox):
    def __init__(self, runner: Host, launcher: Launcher, was_idle: bool, spec: RunSpec, sink: OutputSink, asked: float):
        self.runner, self.launcher, self.spec, self.sink = runner, launcher, spec, sink
        self.runtime, self.uid, self.cgroup, self.proc = launcher.runtime, launcher.uid, launcher.cgroup, launcher.proc
        self.pidfd = launcher.pidfd  # readable once bwrap has exited
        self.bwrap_exited = False
        self.limits = spec.limits
        self.language = runner.languages.get(spec.runtime)
        # A compiled language is built first: with the build's limits until the entry says it
        # built, then the host lowers them to the program's and says go (see _built).
        self.building = bool(self.language and self.language.compiled)
        self.compile_limits = spec.compile_limits or spec.limits
        self.compile_ms: int | None = None
        self._typed_early = bytearray()  # typed while it builds: passed on after the go line
        self._input_ended_early = False
        # Where the host cannot read the working directory (no tmpfs of its own), the entry reports it.
        self.entry_reports = spec.file_caps is not None and not launcher.job_dir.mounted
        file_bytes = spec.file_caps.total_bytes if self.entry_reports else 0
        self.decoder = Decoder(output_bytes=spec.limits.output_bytes, file_bytes=file_bytes)
        self.decoder.feed(START_LINE)  # read by the launcher, which waited for it
        self.stopped_as: ErrorType | None = None
        self.backstop_fired = False
        self.bwrap_stderr = bytearray()
        self.rusage = None  # bwrap's, with every process of the sandbox, once it has been waited for
        self.record_at: float | None = None
        # How long the run waited for a sandbox: nothing when one was idle, else the cold start.
        self.start_ms = 0 if was_idle else round((time.monotonic() - asked) * 1000)
        self._kill_lock = threading.Lock()
        self._finished = False
        self._killed_at: float | None = None
        self._open_pipes = [self.proc.stdout.fileno(), self.proc.stderr.fileno()]
        self._input_lock = threading.Lock()  # what is typed, against the end of input and the teardown
        try:
            self._fire()
        except BaseException as exc:
            launcher.discard()  # kills bwrap, then frees its cgroup and (last) its uid
            if isinstance(exc, OSError):
                raise LauncherBroken(str(exc)) from exc
            raise

    # --- starting ---------------------------------------------------------------------

    def _fire(self) -> None:
        if self.cgroup is not None:  # fails if the cgroup was removed under the launcher
            memory, pids = self.runner.isolation.cgroup_limits(self.limits)
            if self.building:
                memory = max(memory, self.compile_limits.memory_mb << 20)
            self.cgroup.limit(memory_bytes=memory, pids=pids)
            self.cgroup.reset_peak()
        # What the idle sandbox has used so far (its start) is not the run's.
        self.cpu_base_ns = self.cgroup.cpu_ns() if self.cgroup is not None else None
        if self.cpu_base_ns is None:
            self.cpu_base_ns = _tree_cpu_ns(self.proc.pid)
        self.started_at = time.monotonic()
        self.launcher.run(
            " ".join(self._entry_settings()),
            script=self.spec.script.encode(),
            stdin=self.spec.stdin.encode(),
            files=self.spec.files,
            interactive=self.spec.interactive,
            source=self.language.source if self.language else None,
            support=self.language.support if self.language else None,
            keep_open=self.building,
        )

    def _nproc_offset(self) -> int:
        offset = self.launcher.nproc_offset
        return self.runner.isolation.nproc_offset if offset is None else offset

    def _entry_settings(self) -> list[str]:
        limits = self.limits
        memory = (limits.memory_mb << 20) + (ADDRESS_SPACE_HEADROOM if self.cgroup else 0)
        arguments = {
            "script": SANDBOX_FILES["script"],
            "stdin": "-" if self.spec.interactive else SANDBOX_FILES["stdin"],
            "wall": limits.wall_seconds,
            "cpu": limits.cpu_seconds,
            "memory": memory,
            "nproc": max(1, limits.processes + self._nproc_offset()),
            "fsize": limits.disk_mb << 20,
            "nofile": self.runner.options["open_files"],
            "output": limits.output_bytes,
            # With a cgroup the host measures memory itself: a MemoryError is only the script's word.
            "memory_mark": 0 if self.cgroup else 1,
        }
        if not self.launcher.job_dir.mounted and self.spec.files:
            arguments["given"] = f"{JOB_DIR}/{GIVEN_LIST}"
        if self.entry_reports:
            arguments["collect"] = ",".join(str(cap) for cap in astuple(self.spec.file_caps))
        if self.language:
            arguments.update(self._language_settings())
        return [f"{key}={value}" for key, value in arguments.items()]

    def _language_settings(self) -> dict:
        """The language's commands for the entry. Its address space is not capped where a
        cgroup bounds memory (V8 and Go reserve far more than they use)."""
        language, caps = self.language, self.compile_limits
        settings = language.run_settings()
        if self.cgroup is not None:
            settings["memory"] = 0
        if language.compiled:
            memory = 0 if self.cgroup is not None else caps.memory_mb << 20
            settings |= language.build_settings(caps, output_bytes=self.limits.output_bytes, memory=memory)
            settings["build_wait"] = 1
        return settings

    # --- following --------------------------------------------------------------------

    def wait(self) -> RunResult:
        """Follows the run until bubblewrap has exited (the entry ends right after its exit
        record, well under a millisecond before), so its exit status and the cgroup's figures
        are final; the cgroup and the scratch space go away in the background."""
        try:
            self._end_bwrap()
            self._emit(self.decoder.finish())
            result = self._result()
        except BaseException:
            self._release()
            raise
        threading.Thread(target=self._release, name="sandbox-teardown", daemon=True).start()
        return result

    def _end_bwrap(self) -> None:
        self._follow()
        with self._kill_lock:
            self.proc.returncode, self.rusage = self.launcher.wait4()
            self._finished = True

    def _follow(self) -> None:
        open_pipes = self._open_pipes
        while open_pipes:
            wall = self.compile_limits.wall_seconds if self.building else self.limits.wall_seconds
            deadline = self.started_at + wall + self.runner.options["grace_seconds"]
            if self.record_at is not None:
                deadline = min(deadline, self.record_at + EXIT_GRACE_SECONDS)
            if self.bwrap_exited:
                # bwrap exits only after the sandbox is gone (or takes it along): whatever the
                # sandbox wrote is in the pipes now. Do not wait for an end of file that a
                # stray copy of a pipe elsewhere could hold back.
                self._drain()
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0 and not self.backstop_fired:
                self.backstop_fired = True
                if self.record_at is not None:
                    self.decoder.violation = self.decoder.violation or LINGERED
                self._kill()
            if self._killed_at and time.monotonic() - self._killed_at > KILL_ESCALATION_SECONDS:
                self._kill_bwrap()
            watched = [*open_pipes, self.pidfd]
            ready, _, _ = select.select(watched, [], [], 0.1 if self._killed_at or remaining <= 0 else remaining)
            for fd in ready:
                if fd == self.pidfd:
                    self.bwrap_exited = True
                elif not self._read(fd):
                    open_pipes.remove(fd)

    def _drain(self) -> None:
        for fd in list(self._open_pipes):
            while select.select([fd], [], [], 0)[0] and self._read(fd):
                pass
            self._open_pipes.remove(fd)

    def _read(self, fd: int) -> bool:
        data = os.read(fd, READ_BYTES)
        if fd == self.proc.stderr.fileno():
            self.bwrap_stderr += data[: STDERR_KEPT - len(self.bwrap_stderr)]
            return bool(data)
        self._emit(self.decoder.feed(data))
        if self.building and self.decoder.compiled is not None:
            self._built()
        if self.decoder.exit is not None and self.record_at is None:
            self.record_at = time.monotonic()
        if any(self.decoder.overflowed.values()) or self.decoder.violation is not None:
            self._kill()  # the entry should have stopped at the cap, and keeps to the protocol
        return bool(data)

    def _emit(self, chunks) -> None:
        for stream, text in chunks:
            self.sink.write(stream, text)

    def _built(self) -> None:
        """The build has ended. When it built: the program's limits from now on (memory bound,
        peak, CPU and wall counted afresh), then the go line, with the stdin that waited."""
        self.building = False
        now = time.monotonic()
        self.compile_ms = round((now - self.started_at) * 1000)
        with self._input_lock:
            if not self.decoder.compiled.built:
                self.proc.stdin.close()
                return
            if self.cgroup is not None:
                memory, pids = self.runner.isolation.cgroup_limits(self.limits)
                self.cgroup.reclaim()
                self.cgroup.limit(memory_bytes=memory, pids=pids)
                self.cgroup.reset_peak()
            self.cpu_base_ns += self.cpu_ns()  # the build's: not the program's
            self.started_at = now
            given = self.spec.stdin.encode() if self.spec.interactive else b""
            try:
                self.proc.stdin.write(b"go\n" + given + bytes(self._typed_early))
                self.proc.stdin.flush()
            except OSError:
                pass  # the entry is gone: the run ends without its program
            if not self.spec.interactive or self._input_ended_early:
                self.proc.stdin.close()

    def feed(self, data: bytes) -> bool:
        """Pass typed input on to the entry (which relays it to the script's stdin as it reads):
        False when the run's input has ended. The entry reads whatever comes at once, so this
        does not wait for the script, and the submission caps how much there is in all."""
        with self._input_lock:
            if self.proc.stdin.closed:
                return False
            if self.building:
                self._typed_early += data
                return True
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except OSError:  # the entry has gone: the run is ending
                self.proc.stdin.close()
                return False
            return True

    def end_input(self) -> None:
        with self._input_lock:
            if self.building:
                self._input_ended_early = True  # after the go line and what was typed
                return
        self._close_input()

    def _close_input(self) -> None:
        with self._input_lock:
            try:
                self.proc.stdin.close()  # the script reads end of file once it has read the rest
            except OSError:
                pass

    def cpu_ns(self) -> int:
        """The CPU time the run has used so far, as the host measures it."""
        cgroup = self.cgroup  # None once torn down
        used = cgroup.cpu_ns() if cgroup is not None else None
        return max(0, (used if used is not None else _tree_cpu_ns(self.proc.pid)) - self.cpu_base_ns)

    def pause(self) -> bool:
        cgroup = self.cgroup  # None once torn down
        return cgroup is not None and cgroup.pause()

    def resume(self) -> None:
        cgroup = self.cgroup
        if cgroup is not None:
            cgroup.resume()

    def stop(self, error_type: ErrorType = ErrorType.CANCELLED) -> None:
        if self.stopped_as is None:
            self.stopped_as = error_type
        self._kill()

    def _kill(self) -> None:
        with self._kill_lock:
            if self._finished:
                return  # the pid may already belong to someone else
            self._killed_at = self._killed_at or time.monotonic()
            self.launcher.kill_run(self)
            self.resume()  # a frozen process dies of its SIGKILL only once thawed, before it runs a line

    def _kill_bwrap(self) -> None:
        with self._kill_lock:
            if not self._finished:
                self.launcher.kill_hard()

    def _release(self) -> None:
        # Called once bwrap has been waited for. The uid goes last: until it is released, a
        # reaper (in any process) leaves this sandbox's processes and cgroup alone.
        self._close_input()
        for pipe in (self.proc.stdout, self.proc.stderr):
            pipe.close()
        self.launcher.remove_job_dir()
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        elif self.uid is not None and self.bwrap_exited and not self.launcher.forked:
            end_processes_of(self.uid)  # bwrap may have gone first (killed): nothing else got them
        if self.uid is not None and not self.launcher.forked:
            self.runner.slots.release(self.uid)

    # --- reporting --------------------------------------------------------------------

    def _result(self) -> RunResult:
        usage = self.cgroup.usage() if self.cgroup is not None else None
        files, left_out = reported_by(
            self.decoder, self.spec.file_caps if self.entry_reports else None
        )  # before settling: files over the caps break the protocol
        result = settle(self.decoder, self._host_view(usage), self.limits, no_record=self._no_record())
        if self.entry_reports and self.decoder.violation is None:
            result.files, result.files_truncated = files, left_out or self.decoder.files_truncated
        elif self.spec.file_caps is not None and not self.entry_reports:  # every process of it is gone
            result.files, result.files_truncated = collect(
                self.launcher.job_dir.work, self.spec.files, self.spec.file_caps
            )
        result.compile_ms = self.compile_ms if self.decoder.compiled is not None else None
        result.extra.update(start_ms=self.start_ms, uid=self.uid, forked=self.launcher.forked)
        if usage is not None:
            result.extra.update(cgroup=self.cgroup.memory_dir.name)
        return result

    def _host_view(self, usage: cgroups.Usage | None) -> HostView:
        ended = self.record_at or time.monotonic()
        returncode = self.proc.returncode
        return HostView(
            status=returncode if returncode is not None and returncode >= 0 and not self.backstop_fired else None,
            wall_ms=round((ended - self.started_at) * 1000),
            cpu_ms=self._cpu_ms(usage),
            peak_memory_kb=usage.peak_memory_kb if usage is not None else self.rusage.ru_maxrss,
            memory_exhausted=bool(usage and (usage.oom_kills or (usage.memory_failures and not self.decoder.exit))),
            scratch_full=self.launcher.job_dir.fullness(),
            stopped_as=self.stopped_as,
            backstop_fired=self.backstop_fired,
            cpu_clock_shared=self.runner.isolation.cpu_clock_shared,
        )

    def _cpu_ms(self, usage: cgroups.Usage | None) -> int | None:
        if usage is not None and usage.cpu_ns is not None:
            used = usage.cpu_ns
        else:  # bwrap's own time and that of every process of the sandbox, all reaped inside it
            used = round((self.rusage.ru_utime + self.rusage.ru_stime) * 1e9)
        return max(0, round((used - self.cpu_base_ns) / 1e6))

    def _no_record(self) -> tuple[ErrorType, str]:
        if self.backstop_fired and self.decoder.violation is None:
            return ErrorType.TIMEOUT, HOST_TIMEOUT
        detail = self.bwrap_stderr.decode(errors="replace").strip() or _exit_detail(self.proc.returncode)
        return ErrorType.SYSTEM_ERROR, SANDBOX_BROKE.format(detail=detail)


def _tree_cpu_ns(pid: int) -> int:
    """CPU time bwrap and its child (the idle entry) have used, from /proc (nanoseconds)."""
    total = 0
    for process in (pid, *children(pid)):
        try:
            total += int(Path(f"/proc/{process}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def _exit_detail(returncode: int | None) -> str:
    if returncode is None:
        return "its template ended with it"
    if returncode < 0:
        return f"killed by signal {-returncode}"
    return f"exit status {returncode}"
