"""How a run ended: the entry's exit record checked against what the host measured itself.

Every runner builds a :class:`HostView` of the run (what it waited for, read from a cgroup,
timed, saw of the scratch space) and hands it with the decoder to :func:`settle`. The host's
figures are the ones reported; the record only fills in what the host cannot see, and where
the two disagree the host wins and the result carries a flag naming the figure. A record that
breaks the protocol is never believed.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from executions.runners.base import ErrorType, Limits, RunResult
from executions.sandbox.protocol import CUT_RECORD, Decoder, ExitRecord

MEMORY_EXCEEDED = "Memory limit exceeded"
TIMED_OUT = "Wall-clock time limit exceeded"
CPU_TIMED_OUT = "CPU time limit exceeded"
OUTPUT_EXCEEDED = "Output limit exceeded; output truncated"
DISK_FULL = "Disk limit exceeded: the scratch space (/tmp) is full"
INODES_FULL = "Disk limit exceeded: the scratch space (/tmp) holds as many files as it may"
FORBIDDEN_CALL = "Stopped by the sandbox: a system call it does not allow (SIGSYS)"
PROTOCOL_BROKEN = "The sandbox broke its output protocol ({detail}); its report was not used"
STOPPED = "Stopped"
NOT_COMPILED = {
    "timeout": "The compiler did not finish within its time limit",
    "cpu": "The compiler used up its CPU time limit",
    "memory": "The compiler ran out of memory",
    "output_limit": "The compiler's messages passed their size limit",
    "none": "The program did not compile: the compiler's messages are in errors",
}

# Figures the host may find off from the record by this much without a flag (rounding,
# and the moments between the supervisor's reading and the host's).
CPU_SLACK_MS = 20
WALL_SLACK_MS = 250
CPU_LIMIT_RATIO = 0.9  # an honest "cpu" verdict comes at the limit, by the host's count too

_BY_REASON = {
    "timeout": (ErrorType.TIMEOUT, TIMED_OUT),
    "cpu": (ErrorType.TIMEOUT, CPU_TIMED_OUT),
    "memory": (ErrorType.MEMORY_LIMIT, MEMORY_EXCEEDED),
    "output_limit": (ErrorType.OUTPUT_LIMIT, OUTPUT_EXCEEDED),
}


class Flag:
    """Names of the figures where the sandbox's record disagreed with the host."""

    EXIT_STATUS = "exit_status"
    CPU_TIME = "cpu_time"
    WALL_TIME = "wall_time"
    REASON = "reason"
    ALL = (EXIT_STATUS, CPU_TIME, WALL_TIME, REASON)


@dataclass(frozen=True)
class HostView:
    """What the host saw of one run by itself; None (or False) where it could not see."""

    status: int | None = None  # the supervisor's exit status: the script's code, or 128 + its signal
    wall_ms: int | None = None
    cpu_ms: int | None = None
    peak_memory_kb: int | None = None
    memory_exhausted: bool = False  # the kernel killed or refused memory at the run's limit
    scratch_full: str | None = None  # DISK_FULL or INODES_FULL
    stopped_as: ErrorType | None = None  # cancelled, or stopped by the dispatcher
    backstop_fired: bool = False  # the host killed it at its own deadline
    # Whether the sandbox's CPU clock is the host's: a user-space kernel (gVisor's) counts time a
    # busy host took from the script as the script's, by no bounded factor, so its CPU figures and
    # verdicts cannot be checked against the host's count (which is still the one reported).
    cpu_clock_shared: bool = True


def settle(decoder: Decoder, host: HostView, limits: Limits, *, no_record: tuple[ErrorType, str]) -> RunResult:
    """The run's result. ``no_record``: why it failed when there is no exit record and the
    host has no better explanation (the runner's own words for a broken sandbox)."""
    record = decoder.exit if decoder.violation is None else None
    result = RunResult()
    flags: list[str] = []
    if record is not None:
        _take_record(result, record)
        flags = _disagreements(record, host, limits, decoder)
    _take_host(result, host)
    if host.status is not None and (record is None or Flag.EXIT_STATUS in flags):
        result.exit_code, result.signal = _split_status(host.status)
    result.output_truncated = result.output_truncated or any(decoder.overflowed.values())
    result.error_type, result.message = _classify(decoder, record, host, flags, no_record=no_record)
    result.flags = flags
    if result.error_type is ErrorType.RUNTIME_ERROR and record is not None:
        result.uncaught = decoder.uncaught  # an exception explains a runtime error, nothing else
    compiled = decoder.compiled if decoder.violation is None else None
    # The program never ran: whatever ended the build (but a stop, or our own failure) is the build's.
    never_ran = compiled is not None and not compiled.built and host.stopped_as is None
    if never_ran and result.error_type not in (None, ErrorType.SYSTEM_ERROR):
        reason = "memory" if result.error_type is ErrorType.MEMORY_LIMIT else compiled.reason
        result.error_type, result.message = ErrorType.COMPILE_ERROR, NOT_COMPILED[reason]
    return result


def _take_record(result: RunResult, record: ExitRecord) -> None:
    result.exit_code = record.exit_code
    result.signal = record.signal
    result.duration_ms = record.wall_ms
    result.cpu_ms = record.cpu_ms
    result.peak_memory_kb = record.peak_memory_kb
    result.output_truncated = record.stdout_truncated or record.stderr_truncated


def _take_host(result: RunResult, host: HostView) -> None:
    for name in ("wall_ms", "cpu_ms", "peak_memory_kb"):
        value = getattr(host, name)
        if value is not None:
            setattr(result, "duration_ms" if name == "wall_ms" else name, max(value, 0))


def _disagreements(record: ExitRecord, host: HostView, limits: Limits, decoder: Decoder) -> list[str]:
    flags = []
    if host.status is not None and host.status != _status_of(record):
        flags.append(Flag.EXIT_STATUS)
    if host.cpu_ms is not None and host.cpu_clock_shared and record.cpu_ms > host.cpu_ms + CPU_SLACK_MS:
        flags.append(Flag.CPU_TIME)
    if host.wall_ms is not None and record.wall_ms > host.wall_ms + WALL_SLACK_MS:
        flags.append(Flag.WALL_TIME)
    if not _reason_holds(record, host, limits, decoder):
        flags.append(Flag.REASON)
    return flags


def _reason_holds(record: ExitRecord, host: HostView, limits: Limits, decoder: Decoder) -> bool:
    """Whether the host's own figures bear out the record's verdict on the limits."""
    if record.reason == "timeout" and host.wall_ms is not None:
        return host.wall_ms >= limits.wall_seconds * 1000 - WALL_SLACK_MS
    if record.reason == "cpu" and host.cpu_ms is not None and host.cpu_clock_shared:
        return host.cpu_ms >= limits.cpu_seconds * 1000 * CPU_LIMIT_RATIO
    if record.reason == "output_limit":
        return any(received >= limits.output_bytes for received in decoder.received.values())
    return True


def _status_of(record: ExitRecord) -> int:
    return record.exit_code if record.exit_code is not None else 128 + (record.signal or 0)


def _split_status(status: int) -> tuple[int | None, int | None]:
    return (None, status - 128) if status > 128 else (status, None)


def _classify(
    decoder: Decoder, record: ExitRecord | None, host: HostView, flags: list[str], *, no_record: tuple[ErrorType, str]
) -> tuple[ErrorType | None, str]:
    if host.stopped_as is not None:
        return host.stopped_as, STOPPED
    if decoder.violation is not None and not _supervisor_died(decoder):
        return ErrorType.SYSTEM_ERROR, PROTOCOL_BROKEN.format(detail=decoder.violation)
    if any(decoder.overflowed.values()):
        return ErrorType.OUTPUT_LIMIT, OUTPUT_EXCEEDED
    if record is None:
        return _without_record(host, no_record)
    if Flag.EXIT_STATUS in flags or Flag.REASON in flags:
        return _by_status(host.status if host.status is not None else _status_of(record), host)
    if record.reason in _BY_REASON:
        return _BY_REASON[record.reason]
    return _by_status(_status_of(record), host)


def _supervisor_died(decoder: Decoder) -> bool:
    """The stream ended inside a record and before the exit record: its writer was killed in
    the middle of a write (by the script's memory use, say), not lying."""
    return decoder.violation == CUT_RECORD and decoder.exit is None


def _without_record(host: HostView, no_record: tuple[ErrorType, str]) -> tuple[ErrorType, str]:
    """The supervisor died, or was killed by the host: what the script's own use explains."""
    if host.backstop_fired:
        return no_record if no_record[0] == ErrorType.TIMEOUT else (ErrorType.TIMEOUT, TIMED_OUT)
    if host.memory_exhausted:
        return ErrorType.MEMORY_LIMIT, MEMORY_EXCEEDED
    if host.scratch_full:
        return ErrorType.DISK_LIMIT, host.scratch_full
    return no_record


def _by_status(status: int, host: HostView) -> tuple[ErrorType | None, str]:
    if host.memory_exhausted and status == 128 + signal.SIGKILL:
        return ErrorType.MEMORY_LIMIT, MEMORY_EXCEEDED
    if status == 0:
        return None, ""
    if host.scratch_full:
        return ErrorType.DISK_LIMIT, host.scratch_full
    return ErrorType.RUNTIME_ERROR, FORBIDDEN_CALL if status == 128 + signal.SIGSYS else ""
