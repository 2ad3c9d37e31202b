"""Where the CPU time of a run goes: the server's own, the sandboxes it started and reaped, and
the embedded store's process, read from /proc around a stretch of work."""

import os
from collections.abc import Callable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


class Meter:
    """CPU seconds, as ``sample`` reads them, before and after a stretch of work."""

    def __init__(self, sample: Callable[[], tuple[float, ...]]):
        self.sample = sample

    def __enter__(self) -> "Meter":
        self.before = self.sample()
        return self

    def __exit__(self, *exc) -> None:
        self.after = self.sample()

    def per_run_ms(self, runs: int) -> list[float]:
        return [round(1000 * (after - before) / runs, 1) for before, after in zip(self.before, self.after, strict=True)]


def server_cpu(pid: int) -> Meter:
    """(server's own, its reaped sandboxes', the store's) CPU seconds of a running server."""
    store_pids = _children_of(pid)  # sandboxes come and go; the store is there from the start

    def sample() -> tuple[float, float, float]:
        own, reaped = _times(pid)
        return own, reaped, sum(sum(_times(store)) for store in store_pids)

    return Meter(sample)


def children_cpu() -> Meter:
    """CPU seconds of the subprocesses this process starts and reaps."""
    return Meter(lambda: (os.times().children_user + os.times().children_system,))


def _times(pid: int) -> tuple[float, float]:
    """(own CPU seconds, CPU seconds of its reaped children) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS, (int(fields[13]) + int(fields[14])) / TICKS


def _children_of(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
