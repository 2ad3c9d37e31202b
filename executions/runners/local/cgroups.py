"""One memory + pids (+ CPU accounting, + freezer) cgroup per sandbox, on cgroup v1 or a
delegated cgroup v2 subtree.

Run cgroups are created under the cgroups this process itself sits in (v1: one per
controller, from ``/proc/self/cgroup``; ``cpuacct`` and ``freezer`` too where they are mounted
and writable) or under a configured v2 directory whose ``cgroup.subtree_control`` enables
``memory`` and ``pids`` (every v2 cgroup accounts CPU time in ``cpu.stat`` and can be frozen
with ``cgroup.freeze``). They are named with
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
FREEZE_SECONDS = 2.0  # a freeze not done by then (a task in uninterruptible sleep) is undone
FREEZE_POLL_SECONDS = 0.001
V2 = "unified"  # the one directory of a v2 run cgroup


@dataclass(frozen=True)
class Usage:
    peak_memory_kb: int | None
    oom_kills: int
    cpu_ns: int | None  # None where the CPU time is not accounted
    memory_failures: int = 0  # charges refused at the limit (v1 failcnt, v2 "max" events)


class RunCgroup:
    """The cgroup directories of one run, by controller (v1: memory, pids and, where they are
    there, cpuacct and freezer; v2: one directory, :data:`V2`)."""

    def __init__(self, dirs: dict[str, Path], *, v2: bool):
        self.by_controller = dirs
        self.v2 = v2

    @property
    def dirs(self) -> list[Path]:
        return list(self.by_controller.values())

    @property
    def memory_dir(self) -> Path:
        return self._dir("memory")

    def _dir(self, controller: str) -> Path | None:
        return self.by_controller[V2] if self.v2 else self.by_controller.get(controller)

    @property
    def _cpu_file(self) -> Path | None:
        if self.v2:
            return self.memory_dir / "cpu.stat"
        directory = self._dir("cpuacct")
        return directory / "cpuacct.usage" if directory else None

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
        _write(self._dir("pids") / "pids.max", pids)

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
        if killed:
            self.resume()  # a frozen task dies of its SIGKILL only once thawed (v1)
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
        """Freeze every process of the cgroup at once (the freezer: no process sees it, none
        can fork out of it meanwhile, and a tracer, as gVisor's sentry is of its stubs, is not
        told, where a SIGSTOP would be reported to it and break it). True once frozen; False
        where there is no freezer or the freeze did not complete in time (then it is undone)."""
        directory = self._dir("freezer")
        if directory is None:
            return False
        try:
            if self.v2:
                _write(directory / "cgroup.freeze", 1)
            else:
                (directory / "freezer.state").write_text("FROZEN")
        except OSError:
            return False
        deadline = time.monotonic() + FREEZE_SECONDS
        while time.monotonic() < deadline:
            if self.frozen():
                return True
            time.sleep(FREEZE_POLL_SECONDS)
        self.resume()
        return False

    def frozen(self) -> bool:
        """Whether every process of it is frozen, as the kernel reports."""
        directory = self._dir("freezer")
        if directory is None:
            return False
        if self.v2:
            return _read_key(directory / "cgroup.events", "frozen") == 1
        try:
            return (directory / "freezer.state").read_text().strip() == "FROZEN"
        except OSError:
            return False

    def resume(self) -> None:
        directory = self._dir("freezer")
        try:
            if directory is None:
                return
            if self.v2:
                _write(directory / "cgroup.freeze", 0)
            else:
                (directory / "freezer.state").write_text("THAWED")
        except OSError:
            pass  # gone with its run

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
    """Creates run cgroups under parent directories (by controller) found once, at start-up."""

    def __init__(self, parents: dict[str, Path], *, v2: bool):
        self.by_controller = parents
        self.v2 = v2
        self.freezes = v2 or "freezer" in parents  # whether its cgroups can be frozen (the probe checks)

    @property
    def parents(self) -> list[Path]:
        return list(self.by_controller.values())

    @property
    def accounts_cpu(self) -> bool:
        """Whether its cgroups count the CPU time of their processes (cpuacct, or v2)."""
        return self.v2 or "cpuacct" in self.by_controller

    def create(self, label: str) -> RunCgroup:
        name = f"{PREFIX}{label}-{secrets.token_hex(4)}"
        dirs = {controller: parent / name for controller, parent in self.by_controller.items()}
        made = []
        try:
            for directory in dirs.values():
                directory.mkdir()
                made.append(directory)
        except OSError:
            for directory in made:
                _rmdir(directory)
            raise
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
        return [
            RunCgroup({controller: parent / name for controller, parent in self.by_controller.items()}, v2=self.v2)
            for name in sorted(names)
        ]


def detect(*, v2_parent: str | None = None) -> CgroupManager | None:
    """A manager for this machine, or None when no writable memory+pids hierarchy exists."""
    if v2_parent:
        return _probe(CgroupManager({V2: Path(v2_parent)}, v2=True))
    own = _own_cgroups()
    if "memory" not in own or "pids" not in own:
        return None
    parents = {controller: CGROUP_ROOT / controller / own[controller].lstrip("/") for controller in ("memory", "pids")}
    if not all(p.is_dir() for p in parents.values()):
        return None
    manager = _probe(CgroupManager(parents, v2=False))
    for optional in ("cpuacct", "freezer"):  # each kept where it is mounted and writable
        directory = CGROUP_ROOT / optional / own.get(optional, "").lstrip("/")
        if manager is not None and optional in own and directory.is_dir():
            manager = _probe(CgroupManager({**manager.by_controller, optional: directory}, v2=False)) or manager
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
        if manager.freezes:
            frozen = probe.pause()  # nothing in it: frozen at once where the kernel can
            probe.resume()
            if not frozen and not manager.v2:
                return None  # this freezer cannot be used: the manager without it is taken
            manager.freezes = frozen  # v2 before 5.2 has no cgroup.freeze
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
