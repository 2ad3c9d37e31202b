"""The runner contract: how the dispatcher starts, follows and stops one sandbox.

Runners are pluggable backends, configured like Django's email backends::

    EXECUTION_RUNNER = {"BACKEND": "executions.runners.local.LocalRunner", "OPTIONS": {...}}

A runner turns a :class:`RunSpec` into a running sandbox, streams what the script writes
into an :class:`OutputSink` as it is written, and returns a :class:`RunResult` that says
how the run ended. Runners never touch the database: the dispatcher owns all writes.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from executions.sandbox.protocol import Stream, Uncaught  # the runner contract speaks of the sandbox's streams


class ErrorType(enum.StrEnum):
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    DISK_LIMIT = "disk_limit"
    RUNTIME_ERROR = "runtime_error"
    COMPILE_ERROR = "compile_error"
    CANCELLED = "cancelled"
    SYSTEM_ERROR = "system_error"


@dataclass(frozen=True)
class Limits:
    """Hard limits for one run. Every runner enforces all of them."""

    wall_seconds: float
    cpu_seconds: int
    memory_mb: int
    processes: int
    disk_mb: int
    output_bytes: int  # per stream


@dataclass(frozen=True)
class RunFile:
    """A file of a run: given to the script in its working directory, or found there after it."""

    name: str  # a relative path, "/"-separated, checked (files.py) before it gets here
    data: bytes


@dataclass(frozen=True)
class FileCaps:
    """The most a run returns of the files it made: how many, in all, and per file (bytes)."""

    count: int
    total_bytes: int
    file_bytes: int


@dataclass(frozen=True)
class RunSpec:
    execution_id: str
    script: str
    stdin: str
    runtime: str
    limits: Limits
    files: tuple[RunFile, ...] = ()  # placed in the working directory before the script starts
    file_caps: FileCaps | None = None  # None: no files are taken back
    # stdin stays open: ``stdin`` first, then what Sandbox.feed passes on, until Sandbox.end_input.
    interactive: bool = False
    # A compiled language's build: its wall, CPU, memory and output (the rest unused); None: the server's
    compile_limits: Limits | None = None


@dataclass(frozen=True)
class RuntimeInfo:
    """What a runtime offers: its language, version and the packages installed beside it."""

    language: str
    version: str
    packages: dict[str, str] = field(default_factory=dict)  # distribution name -> version
    interactive: bool = True  # whether its runs can be fed input while they run (RunSpec.interactive)
    compiled: bool = False  # built before it runs (a compile step with limits of its own)
    source_file: str = "main.py"  # the file name its source is given as
    title: str = ""  # how people name the language ("C++"), where not its name capitalized

    @property
    def description(self) -> str:
        described = f"{self.title or self.language.capitalize()} {self.version}".strip()
        return f"{described} with {len(self.packages)} packages" if self.packages else described


class OutputSink(Protocol):
    """Receives output as the script writes it, already decoded (UTF-8, invalid bytes replaced)."""

    def write(self, stream: Stream, text: str) -> None: ...


@dataclass
class RunResult:
    exit_code: int | None = None
    signal: int | None = None
    error_type: ErrorType | None = None
    message: str = ""
    duration_ms: int | None = None
    cpu_ms: int | None = None
    peak_memory_kb: int | None = None
    output_truncated: bool = False
    # Files the script made or changed in its working directory, as the host found them after
    # the run, within the spec's file caps; files_truncated when some were left out.
    files: list[RunFile] = field(default_factory=list)
    files_truncated: bool = False
    # Figures where the sandbox's own report disagreed with the host's measurement (the host's
    # were kept): see runners.outcome.Flag.
    flags: list[str] = field(default_factory=list)
    # A runtime error's uncaught exception, as the script's process described it (display only).
    uncaught: Uncaught | None = None
    compile_ms: int | None = None  # a compiled language's build, timed by the host
    # A failure of ours, not the script's (a system_error): what went wrong, as a short kind for
    # metrics ("not_started", "node_lost", "preempted", "evicted", ...), and whether running it
    # again may succeed: the dispatcher then puts it back in the queue while attempts remain.
    infrastructure: str = ""
    retryable: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.error_type is None and self.exit_code == 0


class RunnerError(Exception):
    """A sandbox could not be started or followed. ``permanent`` errors are not retried."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class StartGate:
    """Bounds the sandboxes starting at once (created, not yet running), so that a dispatcher
    claims no faster than the sandboxes it asks for start.

    The dispatcher :meth:`reserve` s a place before it claims an execution and :meth:`cancel` s
    it when the claim finds nothing; ``start`` takes a reservation over (or waits for a place
    when it was called without one) and the sandbox gives its place back once it runs, or failed
    to start. Places are interchangeable, so only counts are kept."""

    def __init__(self, limit: int):
        self.limit = limit
        self.reserved = 0
        self.starting = 0
        self._changed = threading.Condition()

    def reserve(self, *, timeout: float) -> bool:
        with self._changed:
            if not self._changed.wait_for(self._room, timeout=timeout):
                return False
            self.reserved += 1
            return True

    def cancel(self) -> None:
        with self._changed:
            self.reserved = max(0, self.reserved - 1)
            self._changed.notify_all()

    def enter(self, *, timeout: float) -> bool:
        """A sandbox is being created: its reservation becomes a start (False: no place came)."""
        with self._changed:
            if self.reserved:
                self.reserved -= 1
            elif not self._changed.wait_for(self._room, timeout=timeout):
                return False
            self.starting += 1
            return True

    def skip(self) -> None:
        """A sandbox that needed no start (an idle one, already running): a reservation, if
        any, is given back as :meth:`enter` would have taken it."""
        self.cancel()

    def leave(self) -> None:
        """A sandbox runs now, or will not."""
        with self._changed:
            self.starting = max(0, self.starting - 1)
            self._changed.notify_all()

    def _room(self) -> bool:
        return self.reserved + self.starting < self.limit


class Sandbox:
    """One started run. ``wait`` blocks until it ends; ``stop`` may be called from any thread."""

    def wait(self) -> RunResult:
        raise NotImplementedError

    def stop(self, error_type: ErrorType = ErrorType.CANCELLED) -> None:
        raise NotImplementedError

    # An interactive run (RunSpec.interactive); these may be called from any thread.

    def feed(self, data: bytes) -> bool:
        """Pass input on to the script's stdin; False once its input has ended (or the run has)."""
        raise NotImplementedError

    def end_input(self) -> None:
        """The script reads end of file after what it was fed."""
        raise NotImplementedError

    def cpu_ns(self) -> int:
        """CPU time the run has used so far, as the host measures it (how the dispatcher tells
        a run that waits for input from one that computes)."""
        raise NotImplementedError

    def pause(self) -> bool:
        """Stop every process of the run until resume(); False when this runner cannot."""
        return False

    def resume(self) -> None:
        pass


class BaseRunner:
    name = "base"
    start_gate: StartGate | None = None  # None: sandboxes start as fast as they are asked for

    def __init__(self, **options):
        self.options = options

    def runtimes(self) -> dict[str, RuntimeInfo]:
        """Runtime name -> what it offers (e.g. ``{"python3.13": RuntimeInfo("python", "3.13.0")}``)."""
        raise NotImplementedError

    def isolation_of(self, runtime: str) -> str:
        """What keeps a run of ``runtime`` apart from the host (e.g. ``bubblewrap``, ``gvisor``)."""
        return self.name

    def start(self, spec: RunSpec, sink: OutputSink) -> Sandbox:
        """Start a fresh sandbox for ``spec``; raise :class:`RunnerError` if it cannot start."""
        raise NotImplementedError

    def reap(self, *, older_than: timedelta) -> int:
        """Remove leftover sandboxes older than ``older_than``; return how many were removed."""
        raise NotImplementedError

    def prepare(self) -> None:
        """This process's dispatcher starts: start what runs ahead of runs (a warm pool)."""

    def close(self) -> None:
        """This process's dispatcher stopped: let go of what :meth:`prepare` started."""

    def check(self) -> list[str]:
        """Problems that stop this runner from working on this machine (empty when healthy)."""
        return []

    def template_memory(self) -> dict[str, int]:
        """Runtime name -> bytes its warm template uses (runners that fork runs from one)."""
        return {}


_runner: BaseRunner | None = None


def get_runner() -> BaseRunner:
    """The configured runner, built once per process from ``settings.EXECUTION_RUNNER``."""
    global _runner
    if _runner is None:
        _runner = build_runner(settings.EXECUTION_RUNNER)
    return _runner


def build_runner(config: dict) -> BaseRunner:
    path = config.get("BACKEND", "")
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"EXECUTION_RUNNER backend {path!r} cannot be imported: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, BaseRunner)):
        raise ImproperlyConfigured(f"EXECUTION_RUNNER backend {path!r} is not a BaseRunner")
    return cls(**config.get("OPTIONS", {}))
