"""The gVisor isolation level of the local runner (``LOCAL_ISOLATION=gvisor``).

The same entry, protocol, limits and host-side measurement as the bubblewrap level, with the
sandbox behind gVisor's user-space kernel (``runsc``, the ptrace platform): the script's system
calls reach gVisor's kernel, not the host's. ``runsc run`` is started from an OCI bundle of the
sandbox's own, as root, with plain pipes for the entry's stdio, no network (``--network=none``:
its own loopback only) and host-owned cgroups it joins before it execs (``--ignore-cgroups``:
everything of gVisor, its sentry, gofer and stubs, is then counted by the host's cgroup, and the
host reads the figures after the sandbox is gone). Inside, the supervisor (the entry) is root of
gVisor's kernel with only CAP_KILL, CAP_SETUID and CAP_SETGID, and runs the script as the
sandbox's slot uid: a separate uid, so the script cannot signal, trace, limit or read it (gVisor
gives PID 1 no protection from signals of its own uid). The root filesystem is one read-only
directory of mount points; ``/usr`` and the runtime are bound read-only, the job directory's
tmpfs (``scratch.py``) gives ``/sandbox``, ``/tmp`` and ``/dev/shm``, capped in bytes and files.

Starting a sandbox costs about 0.2 s and 0.14 s of CPU, which the warm launchers hide. gVisor's
kernel counts CPU time a busy host took from the script as the script's, so its CPU limit may
fire early on a loaded machine; the reported CPU time is the host's count (of gVisor too).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from executions.runners.base import Limits
from executions.runners.local import cgroups, seccomp
from executions.runners.local.launcher import Spawn
from executions.runners.local.scratch import JobDir
from executions.runners.local.setup import Runtime, kill_group, merged_usr_link

if TYPE_CHECKING:
    from executions.runners.local.sandbox import LocalSandbox

RUNSC_MISSING = "gVisor (runsc) is not installed or not executable: apt-get install runsc"
NEEDS_ROOT = "The gVisor isolation level starts runsc as root: run the server as root"
NEEDS_CGROUPS = "The gVisor isolation level needs a memory and pids cgroup per sandbox, and none is available"
RUNSC_FAILED = "runsc could not run here: {detail}"

CAPABILITIES = ["CAP_KILL", "CAP_SETUID", "CAP_SETGID"]  # the supervisor's, inside gVisor
MEMORY_OVERHEAD_MB = 64  # gVisor's sentry, gofer and stubs, beyond the script's memory
PIDS_BASE, PIDS_PER_PROCESS = 96, 8  # host tasks of gVisor itself, and per process inside
PREFIX = "integr8scode-"  # of container ids: integr8scode-<uid>-<random>
MOUNT_POINTS = ("usr", "opt/runtime", "opt/integr8scode", "sandbox", "tmp", "proc", "dev", "sys")
FILES = ("opt/integr8scode/entry.pyc", "opt/integr8scode/filter.bpf")  # a file is bound onto a file
ENTRY, FILTER = (f"/{file}" for file in FILES)
# Moves the shell into the run's cgroups, then becomes runsc: everything runsc starts is inside.
JOIN_CGROUPS = 'for procs in $CGROUP_PROCS; do echo $$ > "$procs" || exit 125; done; exec "$@"'
SH = "/bin/sh"
HOST_DIRS = ("bin", "lib", "lib64", "sbin")


class GVisor:
    name = "gvisor"
    nproc_offset = -1  # the entry is another uid; gVisor lets a uid start one process beyond RLIMIT_NPROC
    cpu_clock_shared = False  # gVisor's CPU clock runs ahead of the host's when the host is busy
    # The supervisor is another uid than the script and cannot write the script's /tmp, which
    # matplotlib needs at import: its sandboxes import nothing ahead.
    preloads = False

    def __init__(self, *, runsc: str, platform: str, work_dir: Path):
        self.runsc, self.platform = runsc, platform
        self.home = work_dir / "gvisor"
        self.state, self.bundles, self.rootfs = self.home / "state", self.home / "bundles", self.home / "rootfs"
        self._prepared = False
        self._lock = threading.Lock()

    def spawn(
        self,
        *,
        runtime: Runtime,
        uid: int | None,
        job_dir: JobDir,
        disk_mb: int,
        entry: Path,
        command: list[str],
        environment: dict[str, str],
        files: dict[str, str],
        cgroup: cgroups.RunCgroup | None,
    ) -> Spawn:
        self._prepare()
        name = f"{PREFIX}{uid}-{secrets.token_hex(4)}"
        bundle = self.bundles / name
        bundle.mkdir(mode=0o700)
        config = _config(
            self.rootfs,
            runtime,
            job_dir,
            entry,
            self.home / "filter.bpf",
            files,
            environment,
            [*command[:-1], f"filter={FILTER}", f"user={uid}", command[-1]],
        )
        (bundle / "config.json").write_text(json.dumps(config))
        argv = [SH, "-c", JOIN_CGROUPS, "join", *self._runsc(bundle), "run", "--bundle", str(bundle), name]
        procs = " ".join(str(directory / "cgroup.procs") for directory in cgroup.dirs)
        return Spawn(argv=argv, fds={}, passed=[], environment={"CGROUP_PROCS": procs}, joins_cgroup=True, name=name)

    def _runsc(self, bundle: Path) -> list[str]:
        return [
            self.runsc,
            f"--root={self.state}",
            "--network=none",
            f"--platform={self.platform}",
            "--ignore-cgroups",
            f"--log={bundle / 'runsc.log'}",
            f"--panic-log={bundle / 'panic.log'}",
        ]

    def _prepare(self) -> None:
        """Once per process: the shared root filesystem (every mount point made ahead, since
        runsc would make missing ones in it), the state directory and the filter."""
        with self._lock:
            if self._prepared:
                return
            for directory in (self.home, self.state, self.bundles):
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            for point in MOUNT_POINTS:
                (self.rootfs / point).mkdir(mode=0o755, parents=True, exist_ok=True)
            for file in FILES:
                (self.rootfs / file).touch(mode=0o444)
            for name in HOST_DIRS:
                _like_the_host(self.rootfs, name)
            (self.home / "filter.bpf").write_bytes(seccomp.program())
            self._prepared = True

    def shelter(self, launcher) -> None:
        """gVisor's sentry holds the script's memory too: the whole sandbox goes when it runs out."""

    def cgroup_limits(self, limits: Limits) -> tuple[int, int]:
        return (limits.memory_mb + MEMORY_OVERHEAD_MB) << 20, PIDS_BASE + PIDS_PER_PROCESS * limits.processes

    def kill(self, sandbox: LocalSandbox) -> None:
        """Everything of the sandbox is in its cgroup: runsc, the sentry, the gofer, the stubs."""
        if sandbox.cgroup is None or not sandbox.cgroup.kill_all():
            kill_group(sandbox.proc.pid)

    def release(self, name: str) -> None:
        """What runsc keeps of a sandbox outside it: its bundle, and state files when runsc was
        killed rather than let finish."""
        if not name:
            return
        if any(self.state.glob(f"{name}*")):
            subprocess.run(
                [self.runsc, f"--root={self.state}", "delete", "--force", name],
                capture_output=True,
                timeout=30,
                check=False,
            )
            for leftover in self.state.glob(f"{name}*"):
                leftover.unlink(missing_ok=True)
        shutil.rmtree(self.bundles / name, ignore_errors=True)

    def reap(self, held_if_free) -> None:
        """Bundles and state of sandboxes whose uid nobody holds (their server died), each
        removed while its uid is held (``SlotPool.held_if_free``), so no new sandbox gets it."""
        names = {
            path.name.split("_sandbox:")[0].removesuffix(".state").removesuffix(".lock")
            for path in self.state.glob(f"{PREFIX}*")
        } | {path.name for path in self.bundles.glob(f"{PREFIX}*")}
        for name in sorted(names):
            uid = name.removeprefix(PREFIX).split("-")[0]
            if not uid.isdigit():
                continue
            with held_if_free(int(uid)) as free:
                if free:
                    self.release(name)

    def problems(self, *, as_root: bool) -> list[str]:
        if not os.access(self.runsc, os.X_OK):
            return [RUNSC_MISSING]
        if not as_root:
            return [NEEDS_ROOT]
        return seccomp.problems()


def _config(
    rootfs: Path,
    runtime: Runtime,
    job_dir: JobDir,
    entry: Path,
    seccomp_filter: Path,
    files: dict[str, str],
    environment: dict[str, str],
    args: list[str],
) -> dict:
    """The OCI runtime spec of one sandbox."""
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755", "size=64k"]},
        _bind("/usr", "/usr"),
        _bind(str(entry), ENTRY),
        _bind(str(seccomp_filter), FILTER),
        _bind(str(job_dir.files), files["job"]),
        _bind(str(job_dir.work), files["work"], writable=True),
        _bind(str(job_dir.path / "tmp"), "/tmp", writable=True),
        _bind(str(job_dir.path / "tmp"), "/dev/shm", writable=True),
    ]
    mounts += [
        _bind(f"/{name}", f"/{name}")
        for name in HOST_DIRS
        if (rootfs / name).is_dir() and not (rootfs / name).is_symlink()
    ]
    mounts += [_bind(source, destination) for destination, source in runtime.mounts(staged=False).items()]
    return {
        "ociVersion": "1.0.0",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": [f"{key}={value}" for key, value in environment.items()],
            "cwd": files["work"],
            "capabilities": {kind: CAPABILITIES for kind in ("bounding", "effective", "permitted")},
            "noNewPrivileges": True,
        },
        "root": {"path": str(rootfs), "readonly": True},
        "hostname": "sandbox",
        "mounts": mounts,
        "linux": {"namespaces": [{"type": kind} for kind in ("pid", "network", "ipc", "uts", "mount")]},
    }


def _bind(source: str, destination: str, *, writable: bool = False) -> dict:
    return {
        "destination": destination,
        "type": "bind",
        "source": source,
        "options": ["rbind", "rw" if writable else "ro", "nosuid", "nodev"],
    }


def _like_the_host(rootfs: Path, name: str) -> None:
    # Debian and most distributions merged /bin, /lib... into /usr: the same links here; where
    # the host keeps them apart, a mount point for each (bound in _config).
    link = merged_usr_link(name)
    if link and link[0] == "--symlink" and not (rootfs / name).is_symlink():
        (rootfs / name).symlink_to(link[1])
    elif link and link[0] == "--ro-bind":
        (rootfs / name).mkdir(mode=0o755, exist_ok=True)
