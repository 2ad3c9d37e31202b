"""One memory + pids (+ CPU accounting) cgroup per sandbox, on cgroup v1 or a delegated
cgroup v2 subtree.

Run cgroups are created under the cgroups this process itself sits in (v1: one per
controller, from ``/proc/self/cgroup``; ``cpuacct`` too where it is mounted and writable) or
under a configured v2 directory whose ``cgroup.subtree_control`` enables ``memory`` and
``pids`` (every v2 cgroup accounts CPU time in ``cpu.stat``). They are named with
:data:`PREFIX` so a reaper can find the ones a crashed server left behind. What the host
reports of a run (its CPU time, peak memory, OOM kills) is read here, never taken from the
sandbox.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

PREFIX = "integr8scode-"
CGROUP_ROOT = Path("/sys/fs/cgroup")
REMOVE_ATTEMPTS = 50  # rmdir fails with EBUSY until the killed tasks are fully gone
PAUSE_ROUNDS = 50  # a fork bomb within its pids limit is stopped well within this
PAUSE_SETTLE_SECONDS = 0.001


@dataclass(frozen=True)
class Usage:
    peak_memory_kb: int | None
    oom_kills: int
    cpu_ns: int | None  # None where the CPU time is not accounted
    memory_failures: int = 0  # charges refused at the limit (v1 failcnt, v2 "max" events)


class RunCgroup:
    """The cgroup directories of one run (v1: memory, pids and, where there is one, cpuacct;
    v2: one directory)."""

    def __init__(self, dirs: list[Path], *, v2: bool):
        self.dirs = dirs
        self.v2 = v2

    @property
    def memory_dir(self) -> Path:
        return self.dirs[0]

    @property
    def _cpu_file(self) -> Path | None:
        if self.v2:
            return self.memory_dir / "cpu.stat"
        return self.dirs[2] / "cpuacct.usage" if len(self.dirs) > 2 else None

    def cpu_ns(self) -> int | None:
        """CPU time of every process that has been in the cgroup, in nanoseconds."""
        path = self._cpu_file
        if path is None:
            return None
        if self.v2:
            usec = _read_key(path, "usage_usec", default=None)
            return None if usec is None else usec * 1000
        return _read_int(path)

    def reset_peak(self) -> None:
        """From now on the peak counts only what is used from here (v1; v2 keeps its own)."""
        if not self.v2:
            _write(self.memory_dir / "memory.max_usage_in_bytes", 0, missing_ok=True)

    def limit(self, *, memory_bytes: int, pids: int) -> None:
        if self.v2:
            _write(self.memory_dir / "memory.max", memory_bytes)
            _write(self.memory_dir / "memory.swap.max", 0, missing_ok=True)
            _write(self.memory_dir / "pids.max", pids)
            return
        # memory+swap may never be below memory: raising, it goes first; lowering, second.
        memsw = self.memory_dir / "memory.memsw.limit_in_bytes"
        if memsw.exists() and (_read_int(memsw) or 0) < memory_bytes:
            _write(memsw, memory_bytes)
        _write(self.memory_dir / "memory.limit_in_bytes", memory_bytes)
        _write(memsw, memory_bytes, missing_ok=True)
        _write(self.dirs[1] / "pids.max", pids)

    def attach(self, pid: int = 0) -> None:
        """Move ``pid`` (0: the calling process) in, with every thread of it."""
        for directory in self.dirs:
            with open(directory / "cgroup.procs", "w") as file:
                file.write(str(pid or os.getpid()))

    def usage(self) -> Usage:
        peak_file = "memory.peak" if self.v2 else "memory.max_usage_in_bytes"
        events_file = "memory.events" if self.v2 else "memory.oom_control"
        peak = _read_int(self.memory_dir / peak_file)
        failures = (
            _read_key(self.memory_dir / "memory.events", "max")
            if self.v2
            else _read_int(self.memory_dir / "memory.failcnt") or 0
        )
        return Usage(
            peak_memory_kb=None if peak is None else peak // 1024,
            oom_kills=_read_key(self.memory_dir / events_file, "oom_kill"),
            cpu_ns=self.cpu_ns(),
            memory_failures=failures,
        )

    def kill_all(self) -> int:
        killed = 0
        for directory in self.dirs:
            for pid in read_pids(directory):
                killed += kill(pid)
        return killed

    def reclaim(self) -> None:
        """Give back what the kernel can of the memory charged so far (the page cache a build
        left: the compiler's files it read), so that the program starts from what it really
        has. Never an out-of-memory kill: v1's force_empty and v2's memory.reclaim only reclaim."""
        try:
            if self.v2:
                _write(self.memory_dir / "memory.reclaim", 1 << 40, missing_ok=True)
            else:
                _write(self.memory_dir / "memory.force_empty", 0, missing_ok=True)
        except OSError:
            pass  # EAGAIN or EBUSY: it took what it could

    def pause(self) -> bool:
        """Stop every process of the cgroup (SIGSTOP, which no process can catch), again and
        again until none is left running: one not stopped yet could continue the others, or
        fork. True once all are stopped; False when they do not settle (then they are resumed)."""
        for _ in range(PAUSE_ROUNDS):
            running = [pid for pid in read_pids(self.memory_dir) if _state(pid) not in ("T", "t", "Z", "X", "")]
            if not running:
                return True
            for pid in running:
                _signal(pid, signal.SIGSTOP)
            time.sleep(PAUSE_SETTLE_SECONDS)  # a stop takes effect when the process next runs
        self.resume()
        return False

    def resume(self) -> None:
        for pid in read_pids(self.memory_dir):
            _signal(pid, signal.SIGCONT)

    def owner(self) -> tuple[str, int] | None:
        """Who created it, from its name: ``("uid", n)`` for a sandbox uid, ``("pid", n)`` for a
        server process without sandbox uids; None for a name this version does not know."""
        label = self.memory_dir.name.removeprefix(PREFIX).split("-")[0]
        if label.isdigit():
            return "uid", int(label)
        if label.startswith("p") and label[1:].isdigit():
            return "pid", int(label[1:])
        return None

    def remove(self) -> bool:
        """Kill whatever is left and remove the directories; tolerate them being gone.

        Returns whether there was anything to remove (False when someone else removed it)."""
        removed = False
        for attempt in range(REMOVE_ATTEMPTS):
            self.kill_all()
            outcomes = [_rmdir(directory) for directory in self.dirs]
            removed = removed or REMOVED in outcomes
            if BUSY not in outcomes:
                return removed
            time.sleep(0.01 * (attempt + 1))
        return True  # still there, still busy


class CgroupManager:
    """Creates run cgroups under parent directories found once, at start-up."""

    def __init__(self, parents: list[Path], *, v2: bool):
        self.parents = parents
        self.v2 = v2

    @property
    def accounts_cpu(self) -> bool:
        """Whether its cgroups count the CPU time of their processes (cpuacct, or v2)."""
        return self.v2 or len(self.parents) > 2

    def create(self, label: str) -> RunCgroup:
        name = f"{PREFIX}{label}-{secrets.token_hex(4)}"
        dirs = [parent / name for parent in self.parents]
        for directory in dirs:
            directory.mkdir()
        return RunCgroup(dirs, v2=self.v2)

    def leftovers(self, *, older_than_seconds: float) -> list[RunCgroup]:
        """Run cgroups (from any process of this server) older than the threshold."""
        cutoff = time.time() - older_than_seconds
        names = {
            entry.name
            for parent in self.parents
            for entry in parent.iterdir()
            if entry.name.startswith(PREFIX) and _mtime(entry) < cutoff
        }
        return [RunCgroup([parent / name for parent in self.parents], v2=self.v2) for name in sorted(names)]


def detect(*, v2_parent: str | None = None) -> CgroupManager | None:
    """A manager for this machine, or None when no writable memory+pids hierarchy exists."""
    if v2_parent:
        return _probe(CgroupManager([Path(v2_parent)], v2=True))
    own = _own_cgroups()
    if "memory" not in own or "pids" not in own:
        return None
    parents = [CGROUP_ROOT / controller / own[controller].lstrip("/") for controller in ("memory", "pids")]
    if not all(p.is_dir() for p in parents):
        return None
    manager = _probe(CgroupManager(parents, v2=False))
    accounting = CGROUP_ROOT / "cpuacct" / own.get("cpuacct", "").lstrip("/")
    if manager is not None and "cpuacct" in own and accounting.is_dir():
        with_cpu = _probe(CgroupManager([*parents, accounting], v2=False))
        return with_cpu or manager
    return manager


def _own_cgroups() -> dict[str, str]:
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            own[controller] = path
    return own


def _probe(manager: CgroupManager) -> CgroupManager | None:
    try:
        probe = manager.create(f"p{os.getpid()}")  # named like a run cgroup: a reaper leaves it alone
    except OSError:
        return None
    try:
        probe.limit(memory_bytes=64 << 20, pids=8)
        return manager
    except OSError:
        return None
    finally:
        probe.remove()


def _write(path: Path, value: int, *, missing_ok: bool = False) -> None:
    try:
        path.write_text(str(value))
    except FileNotFoundError:
        if not missing_ok:
            raise


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def _read_key(path: Path, key: str, *, default: int | None = 0) -> int | None:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return default
    values = [line.split()[1] for line in lines if line.startswith(key + " ")]
    return int(values[0]) if values else default


def read_pids(directory: Path) -> list[int]:
    try:
        return [int(pid) for pid in (directory / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def kill(pid: int) -> int:
    """SIGKILL ``pid``; 1 if it was there to kill, else 0."""
    try:
        os.kill(pid, signal.SIGKILL)
        return 1
    except ProcessLookupError:
        return 0


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


def _state(pid: int) -> str:
    """The process's state letter (R, S, T...), from /proc; empty when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat[stat.rfind(")") + 2 : stat.rfind(")") + 3]


REMOVED, GONE, BUSY = "removed", "gone", "busy"


def _rmdir(directory: Path) -> str:
    try:
        directory.rmdir()
    except FileNotFoundError:
        return GONE
    except OSError:
        return BUSY
    return REMOVED


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")  # removed meanwhile: not a leftover
