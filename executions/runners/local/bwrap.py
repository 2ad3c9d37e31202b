"""The bubblewrap isolation level of the local runner (the default).

Each sandbox gets new user, PID, network, mount, IPC, UTS and cgroup namespaces (and may make
no user namespace of its own), a read-only view of only the runtime it needs (at a neutral
path, ``/opt/runtime``), its job directory (``scratch.py``), an explicit tiny environment, no
capabilities and the system-call filter (``seccomp.py``). When the server runs as root,
bubblewrap itself is started as an unprivileged host uid from the runner's slots, so the
sandbox is not root outside its user namespace either. The supervisor (the entry) and the
script share the one uid an unprivileged user namespace maps.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from executions.runners.base import Limits
from executions.runners.local import cgroups, seccomp
from executions.runners.local.launcher import ARGS_FD, Launcher, Spawn, memory_file
from executions.runners.local.scratch import JobDir
from executions.runners.local.setup import (
    Runtime,
    all_pids,
    children,
    kill_group,
    merged_usr_link,
    options_missing,
    parent_of,
    spawn_prefix,
    spawn_tool_problems,
    userns_problems,
)

if TYPE_CHECKING:
    from executions.runners.local.sandbox import LocalSandbox

BWRAP_MISSING = "bubblewrap (bwrap) is not installed or not executable: apt-get install bubblewrap"
BWRAP_TOO_OLD = "{path} lacks {options}: the local runner needs bubblewrap 0.8 or newer"
BWRAP_OPTIONS_NEEDED = ("--disable-userns", "--seccomp", "--args", "--ro-bind-data", "--perms", "--size", "--bind-fd")

# Not bwrap's --dev: its /dev (and /dev/shm) is a writable tmpfs with no size cap. Here /dev
# is read-only with just the usual nodes, and /dev/shm points into the capped /tmp.
DEV_NODES = ("null", "zero", "full", "random", "urandom")
DEV_OPTIONS = [
    *("--size", "65536", "--tmpfs", "/dev"),
    *(arg for node in DEV_NODES for arg in ("--dev-bind", f"/dev/{node}", f"/dev/{node}")),
    *("--symlink", "/proc/self/fd", "/dev/fd", "--symlink", "/tmp", "/dev/shm"),
    *(
        arg
        for fd, name in enumerate(("stdin", "stdout", "stderr"))
        for arg in ("--symlink", f"/proc/self/fd/{fd}", f"/dev/{name}")
    ),
    *("--remount-ro", "/dev"),
]
SANDBOX_USER = 1000  # the uid and gid the script sees
PIDS_OVERHEAD = 2  # bubblewrap's monitor and the entry share the cgroup with the script
TEMPLATE_TMP_BYTES = 16 << 20
SHELTERED_OOM_SCORE = -999  # killable still, when nothing else is left


class Bubblewrap:
    name = "bubblewrap"
    nproc_offset = 1  # RLIMIT_NPROC counts the entry too: it shares the script's uid
    cpu_clock_shared = True  # the CPU clock is the host kernel's
    preloads = True  # the supervisor shares the script's uid and /tmp: it can import ahead

    def __init__(self, *, bwrap: str):
        self.bwrap = bwrap

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
        fds = {"entry": os.open(entry, os.O_RDONLY | os.O_CLOEXEC), "seccomp": memory_file(seccomp.program())}
        argv = self._argv(runtime, uid, command)
        options = self._options(runtime, _job_dir_options(job_dir, disk_mb, files), fds, environment, files)
        return Spawn(argv=argv, fds=fds, passed=[*fds.values(), *job_dir.fds.values()], arguments=options)

    def spawn_template(
        self,
        *,
        runtime: Runtime,
        uid: int,
        entry: Path,
        command: list[str],
        environment: dict[str, str],
        files: dict[str, str],
    ) -> Spawn:
        """A template sandbox (template.py): the same walls but for one thing, user namespaces,
        which it must make for each run it forks. Its filter lets it; every run installs the
        whole filter (at ``files["filter"]``) and allows no user namespace of its own. It has
        no job directory: empty mount points where each run mounts its scratch space."""
        fds = {
            "entry": os.open(entry, os.O_RDONLY | os.O_CLOEXEC),
            "seccomp": memory_file(seccomp.program(namespaces=True)),
            "filter": memory_file(seccomp.program()),
        }
        argv = self._argv(runtime, uid, command)
        mount_points = [arg for name in ("job", "work") for arg in ("--dir", files[name])]
        # Its own /tmp (covered in every run): room for the caches its modules write at import.
        scratch = [*mount_points, "--size", str(TEMPLATE_TMP_BYTES), "--tmpfs", "/tmp"]
        options = self._options(runtime, scratch, fds, environment, files, template=True)
        return Spawn(argv=argv, fds=fds, passed=list(fds.values()), arguments=options)

    def _argv(self, runtime: Runtime, uid: int | None, command: list[str]) -> list[str]:
        # bwrap takes only options from --args; it is the process the chain ends in.
        return [*spawn_prefix(runtime, uid), self.bwrap, "--args", ARGS_FD, *command]

    def _options(
        self,
        runtime: Runtime,
        scratch: list[str],
        fds: dict[str, int],
        environment: dict[str, str],
        files: dict[str, str],
        *,
        template: bool = False,
    ) -> list[str]:
        # No user namespaces of its own either: they would hand the script every capability
        # over them, and with that kernel code that unprivileged processes never reach.
        arguments = ["--unshare-all", "--unshare-user"] + ([] if template else ["--disable-userns"])
        arguments += ["--die-with-parent", "--new-session", "--as-pid-1", "--cap-drop", "ALL"]
        arguments += ["--seccomp", str(fds["seccomp"])]
        arguments += ["--uid", str(SANDBOX_USER), "--gid", str(SANDBOX_USER), "--hostname", "sandbox"]
        arguments += ["--ro-bind", "/usr", "/usr"]
        arguments += [arg for name in ("bin", "lib", "lib64", "sbin") for arg in merged_usr_link(name)]
        arguments += runtime.bind_args()
        arguments += ["--perms", "0444", "--ro-bind-data", str(fds["entry"]), files["entry"]]
        if template:
            arguments += ["--perms", "0444", "--ro-bind-data", str(fds["filter"]), files["filter"]]
        arguments += ["--proc", "/proc", *DEV_OPTIONS, *scratch]
        arguments += ["--remount-ro", "/", "--chdir", "/" if template else files["work"], "--clearenv"]
        arguments += [arg for key, value in environment.items() for arg in ("--setenv", key, value)]
        return arguments

    def shelter(self, launcher: Launcher) -> None:
        """Make bubblewrap and the supervisor the out-of-memory killer's last choice in the run's
        cgroup, so memory the script holds outside its processes (shared memory, tmpfs) costs
        the script's processes first; the script raises its own back (see the entry)."""
        for pid in (launcher.proc.pid, *children(launcher.proc.pid)):
            try:
                Path(f"/proc/{pid}/oom_score_adj").write_text(str(SHELTERED_OOM_SCORE))
            except OSError:
                pass  # gone meanwhile: the run finds out

    def cgroup_limits(self, limits: Limits) -> tuple[int, int]:
        """The run cgroup's memory (bytes) and pids limits."""
        return limits.memory_mb << 20, limits.processes + PIDS_OVERHEAD

    def kill(self, sandbox: LocalSandbox) -> None:
        """Kill the sandbox's PID 1, not bwrap: the kernel then tears the namespace down and
        bwrap exits only when it is gone, so the run's end leaves nothing running."""
        if not any(cgroups.kill(pid) for pid in _children_of(sandbox)):
            kill_group(sandbox.proc.pid)  # bwrap has no child (yet): end bwrap itself

    def release(self, sandbox_id: str) -> None:
        """Nothing of a bubblewrap sandbox outlives its processes."""

    def reap(self, held_if_free) -> None:
        """Nothing to reap beyond processes, cgroups and job directories (the runner's)."""

    def problems(self, *, as_root: bool) -> list[str]:
        problems = []
        if not os.access(self.bwrap, os.X_OK):
            problems.append(BWRAP_MISSING)
        elif missing := options_missing(self.bwrap, BWRAP_OPTIONS_NEEDED):
            problems.append(BWRAP_TOO_OLD.format(path=self.bwrap, options=", ".join(missing)))
        problems += userns_problems() + seccomp.problems()
        if as_root:
            problems += spawn_tool_problems()
        return problems


def _job_dir_options(job_dir: JobDir, disk_mb: int, files: dict[str, str]) -> list[str]:
    if job_dir.mounted:
        return [
            *("--ro-bind-fd", str(job_dir.fds["job"]), files["job"]),
            *("--bind-fd", str(job_dir.fds["work"]), files["work"]),
            *("--bind-fd", str(job_dir.fds["tmp"]), "/tmp"),
        ]
    size = str(disk_mb << 20)
    return [
        "--ro-bind",
        str(job_dir.files),
        files["job"],
        "--size",
        size,
        "--tmpfs",
        files["work"],
        "--size",
        size,
        "--tmpfs",
        "/tmp",
    ]


def _children_of(sandbox: LocalSandbox) -> list[int]:
    candidates = cgroups.read_pids(sandbox.cgroup.memory_dir) if sandbox.cgroup is not None else all_pids()
    return [pid for pid in candidates if parent_of(pid) == sandbox.proc.pid]
