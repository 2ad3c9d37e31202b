"""Where the CPU time of a run goes: the server's own, the sandboxes it started and reaped, and
the embedded store's process, read from /proc around a stretch of work."""

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _times(pid: int) -> tuple[float, float]:
    """(own CPU seconds, CPU seconds of its reaped children) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS, (int(fields[13]) + int(fields[14])) / TICKS


def children_of(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


class ServerCpu:
    """CPU milliseconds per run of a server (pid) and its long-lived child (the store)."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid
        self.store_pids = children_of(server_pid)  # the sandboxes come and go; the store stays

    def __enter__(self) -> "ServerCpu":
        self.before = self._sample()
        return self

    def __exit__(self, *exc) -> None:
        self.after = self._sample()

    def per_run_ms(self, runs: int) -> dict:
        (web, sandboxes, store) = (1000 * (b - a) / runs for a, b in zip(self.before, self.after))
        return {"web": round(web, 1), "sandboxes": round(sandboxes, 1), "store": round(store, 1),
                "total": round(web + sandboxes + store, 1)}

    def _sample(self) -> tuple[float, float, float]:
        own, reaped = _times(self.server_pid)
        return own, reaped, sum(sum(_times(pid)) for pid in self.store_pids)


class ChildrenCpu:
    """CPU milliseconds per run of the subprocesses this process starts and reaps."""

    def __enter__(self) -> "ChildrenCpu":
        self.before = os.times()
        return self

    def __exit__(self, *exc) -> None:
        self.after = os.times()

    def per_run_ms(self, runs: int) -> float:
        spent = sum(getattr(self.after, f) - getattr(self.before, f) for f in ("children_user", "children_system"))
        return round(1000 * spent / runs, 1)
