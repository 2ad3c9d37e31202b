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
    """(server's own, its sandboxes', the store's) CPU seconds of a running server. Sandboxes:
    those it has reaped, and those still there (the templates runs fork from, with every fork
    they have reaped; a cold sandbox in progress) counted live, so that a stretch of work counts
    each sandbox's CPU once whether it ended in it or not."""
    store_pids = [child for child in _children_of(pid) if _name(child) != "bwrap"]  # the embedded store

    def sample() -> tuple[float, float, float]:
        own, reaped = _times(pid)
        return own, reaped + live_sandboxes_cpu(pid, exclude=store_pids), sum(sum(_times(s)) for s in store_pids)

    return Meter(sample)


def live_sandboxes_cpu(pid: int, *, exclude: list[int] = ()) -> float:
    """CPU seconds of the sandboxes ``pid`` started that are still there (bubblewrap and the
    process it started, a template or an entry), with what they have reaped."""
    total = 0.0
    for child in _children_of(pid):
        if child in exclude:
            continue
        for process in (child, *_children_of(child)):
            try:
                total += sum(_times(process))
            except (OSError, IndexError):
                pass  # gone meanwhile: its parent has reaped it, or will
    return total


def template_cpu() -> Meter:
    """CPU seconds of the sandboxes this process started and has not reaped (see above)."""
    return Meter(lambda: (live_sandboxes_cpu(os.getpid()),))


def children_cpu() -> Meter:
    """CPU seconds of the subprocesses this process starts and reaps."""
    return Meter(lambda: (os.times().children_user + os.times().children_system,))


def _times(pid: int) -> tuple[float, float]:
    """(own CPU seconds, CPU seconds of its reaped children) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS, (int(fields[13]) + int(fields[14])) / TICKS


def _children_of(pid: int) -> list[int]:
    """Children of any thread of ``pid`` (Python's subprocesses are forked from every thread);
    none when it is gone."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    return [int(child) for task in tasks for child in _task_children(task)]


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _task_children(task: Path) -> list[str]:
    try:
        return (task / "children").read_text().split()
    except OSError:
        return []
