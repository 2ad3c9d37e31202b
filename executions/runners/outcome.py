"""How a run ended, read from the in-sandbox entry's exit record the same way by every runner."""

import signal

from executions.runners.base import ErrorType, RunResult
from executions.sandbox.protocol import ExitRecord

MEMORY_EXCEEDED = "Memory limit exceeded"
TIMED_OUT = "Wall-clock time limit exceeded"
CPU_TIMED_OUT = "CPU time limit exceeded"
OUTPUT_EXCEEDED = "Output limit exceeded; output truncated"
FORBIDDEN_CALL = "Stopped by the sandbox: a system call it does not allow (SIGSYS)"

_BY_REASON = {
    "timeout": (ErrorType.TIMEOUT, TIMED_OUT),
    "cpu": (ErrorType.TIMEOUT, CPU_TIMED_OUT),
    "memory": (ErrorType.MEMORY_LIMIT, MEMORY_EXCEEDED),
    "output_limit": (ErrorType.OUTPUT_LIMIT, OUTPUT_EXCEEDED),
}


def apply_record(result: RunResult, record: ExitRecord) -> None:
    result.exit_code = record.exit_code
    result.signal = record.signal
    result.duration_ms = record.wall_ms
    result.cpu_ms = record.cpu_ms
    result.peak_memory_kb = record.peak_memory_kb
    result.output_truncated = record.stdout_truncated or record.stderr_truncated


def classify_record(record: ExitRecord, *, oom_killed: bool) -> tuple[ErrorType | None, str]:
    """``oom_killed``: the runner's own evidence that the kernel killed the script for memory."""
    if record.reason in _BY_REASON:
        return _BY_REASON[record.reason]
    if oom_killed:
        return ErrorType.MEMORY_LIMIT, MEMORY_EXCEEDED
    if record.exit_code == 0:
        return None, ""
    return ErrorType.RUNTIME_ERROR, FORBIDDEN_CALL if record.signal == signal.SIGSYS else ""
