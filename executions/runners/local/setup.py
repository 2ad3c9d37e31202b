"""Host-side pieces of the bubblewrap runner that do not depend on a run: runtimes, the uid
slots sandboxes run as, and finding processes a crashed server left behind."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import logging
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from executions.runners.base import RuntimeInfo
from executions.runners.local.cgroups import kill
from executions.runners.packages import installed_packages

log = logging.getLogger(__name__)

# bwrap is started through nsenter (util-linux, essential on Debian and Ubuntu), so that no
# Python code runs between fork and exec: the server forks with vfork, without holding its
# interpreter lock for a copy of its page tables. The others stage runtimes, once per process.
NSENTER, UNSHARE, SH = "/usr/bin/nsenter", "/usr/bin/unshare", "/bin/sh"
# Shows /usr, and the runtime on its staging directory, through read-only overlays whose layers
# are named by descriptor: a script reading its mount table then finds no host path and no
# block device there (a bind mount shows both: the path of its source in its filesystem, and
# the device). Overlays need two layers without an upper one; the second is an empty directory.
# Where the kernel has no overlays, the runtime is bound as it is and /usr left as it is.
# Then it says how, and waits (for the namespace to be pinned). $1 /usr, $2 the empty layer,
# then pairs of a directory and its staging directory: the runtime's prefix, its packages.
STAGE_AND_WAIT = """
exec 3<"$1" 4<"$2" || exit 1
usr=$1
shift 2
how=overlay
while [ $# -gt 1 ]; do
  exec 5<"$1" || exit 1
  mount -t overlay overlay -o ro,lowerdir=/proc/self/fd/5:/proc/self/fd/4 -- "$2" 2>/dev/null ||
    { how=bind; mount --rbind -- "$1" "$2" || exit 1; }
  exec 5<&-
  shift 2
done
mount -t overlay overlay -o ro,lowerdir=/proc/self/fd/3:/proc/self/fd/4 -- "$usr" 2>/dev/null || how=bind
exec 3<&- 4<&-
echo "staged $how"
exec cat
"""
STAGED = (b"staged overlay\n", b"staged bind\n")
EMPTY_LAYER = ".empty"
SPAWN_TOOL_MISSING = "{path} is missing (package {package}); the local runner starts bubblewrap through it"
SPAWN_TOOLS = {NSENTER: "util-linux", UNSHARE: "util-linux", SH: "dash", "/usr/bin/mount": "mount"}
OVERLAYS_MISSING = (
    "This kernel cannot mount overlays: sandboxes see the runtime and /usr through bind mounts, "
    "whose mount table names their host paths and block device"
)
NOT_EMPTY = "{path} must be empty: it is the lowest layer of the sandboxes' /usr and runtime"
STAGING_FAILED = "The runtime {name!r} could not be staged for the sandboxes: {detail}"
COMPILE = "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], dfile=sys.argv[3], doraise=True)"
COMPILE_FAILED = "The runtime {name!r} could not compile {source}: {detail}"
NOT_PRIVATE = "{path} must belong to uid {uid} and be writable by nobody else"
UNTRUSTED_WORK_DIR = (
    "The local runner's work directory {work_dir} cannot be trusted: {path} {why}. Another user "
    "could swap what sandboxes are made of; set the runner's work_dir to a directory of uid {uid}"
)
STALE_BYTECODE_SECONDS = 7 * 24 * 3600
USERNS_DISABLED = "User namespaces are disabled on this machine (sysctl user.max_user_namespaces=0)"
USERNS_RESTRICTED = (
    "Unprivileged user namespaces are restricted "
    "(sysctl kernel.unprivileged_userns_clone=0 or kernel.apparmor_restrict_unprivileged_userns=1)"
)
VERSION_PROBE = "import sys; print(sys.version.split()[0])"
RUNTIME_MOUNT = "/opt/runtime"  # where a runtime from outside /usr appears in the sandbox
PACKAGES_MOUNT = "/opt/packages"  # where a runtime's packages (a site-packages directory) appear
PACKAGES_MISSING = "Runtime {name!r}: its packages directory {path} does not exist (make installs it)"


class Runtime:
    """An interpreter and what of the host must be visible for it to run in a sandbox."""

    def __init__(
        self, name: str, path: str, staging_root: Path, as_root: bool, packages: str | None = None, preload: str = ""
    ):
        self.name = name
        self.interpreter = os.path.realpath(path)
        # A site-packages directory of its own (the data runtime's), seen at PACKAGES_MOUNT.
        self.packages = os.path.abspath(packages) if packages else None
        self.preload = preload  # modules its sandboxes import while they wait for a run
        # Host directories its sandboxes see read-only, where they are: what the languages it
        # supervises need beyond /usr (their configuration in /etc, a package database).
        self.host_paths: list[str] = []
        bin_dir = os.path.dirname(self.interpreter)
        parent = os.path.dirname(bin_dir)
        self.prefix = parent if os.path.basename(bin_dir) == "bin" else bin_dir
        self.needs_bind = not _is_under(self.prefix, "/usr")
        # As root, bwrap is started in a mount namespace made for the runtime (staged_namespace),
        # where /usr and the runtime are overlays that name no host path. That also lets the
        # sandbox uid, which bwrap runs as, reach a runtime kept in a private directory (pyenv in
        # /root): the overlay was mounted by root.
        self.staged = as_root
        self.staging = staging_root / name if as_root and self.needs_bind else None
        self.packages_staging = staging_root / f"{name}.packages" if as_root and self.packages else None
        self.empty_layer = staging_root / EMPTY_LAYER
        # What the sandbox runs: the interpreter as it appears there, not where the host keeps it.
        self.sandbox_prefix = RUNTIME_MOUNT if self.needs_bind else self.prefix
        self.sandbox_interpreter = self.sandbox_prefix + self.interpreter.removeprefix(self.prefix)
        # An interpreter linked with its own libpython finds it by an absolute RUNPATH, which
        # names the host's path: tell the loader where the library is now.
        self.library_path = f"{RUNTIME_MOUNT}/lib" if self.needs_bind and _has_libpython(self.prefix) else None

    @functools.cached_property
    def info(self) -> RuntimeInfo:
        if self.interpreter == os.path.realpath(sys._base_executable):
            version = sys.version.split()[0]
        else:
            probe = subprocess.run([self.interpreter, "-I", "-S", "-c", VERSION_PROBE], capture_output=True, text=True)
            version = probe.stdout.strip() or "(unknown version)"
        return RuntimeInfo("python", version, installed_packages(self.packages) if self.packages else {})

    def mounts(self, *, staged: bool = True) -> dict[str, str]:
        """Where the sandbox sees what: destination -> source, in the staged namespace (bwrap
        starts there) or on the host (``staged=False``: gVisor's gofer reads the host)."""
        runtime = self.staging if staged and self.staging else self.prefix
        packages = self.packages_staging if staged and self.packages_staging else self.packages
        mounts = {RUNTIME_MOUNT: str(runtime)} if self.needs_bind else {}
        if packages:
            mounts[PACKAGES_MOUNT] = str(packages)
        mounts |= {path: path for path in self.host_paths}
        return mounts

    def bind_args(self) -> list[str]:
        return [arg for destination, source in self.mounts().items() for arg in ("--ro-bind", source, destination)]

    def entry_args(self, *, preload: bool = True) -> list[str]:
        """What the sandbox entry is started with for this runtime: where its packages are, and
        (where the isolation level lets its supervisor do it) what it imports ahead."""
        preloaded = [f"preload={self.preload}"] if preload and self.preload else []
        return [f"packages={PACKAGES_MOUNT}"] * bool(self.packages) + preloaded

    def problems(self) -> list[str]:
        if self.packages and not os.path.isdir(self.packages):
            return [PACKAGES_MISSING.format(name=self.name, path=self.packages)]
        return []

    def environment(self, system_path: str) -> dict[str, str]:
        """PATH (the runtime's own bin first) and, where needed, the loader's library path."""
        bin_dir = os.path.dirname(self.sandbox_interpreter)
        environment = {"PATH": f"{bin_dir}:{system_path}"}
        if self.library_path:
            environment["LD_LIBRARY_PATH"] = self.library_path
        return environment

    def staged_namespace(self) -> int:
        """A descriptor of the mount namespace bwrap is started in for this runtime: /usr and
        the staging directory there are overlays of the host's /usr and of the runtime.

        Made once per process and staging directory: a helper mounts them in a namespace of
        its own (nothing mounted in it propagates to the host), and the descriptor keeps that
        namespace alive after the helper is gone. Raises OSError."""
        pairs = [(self.prefix, self.staging), (self.packages, self.packages_staging)]
        pairs = [(source, staging) for source, staging in pairs if staging is not None]
        key = (str(pairs), str(self.empty_layer))
        with _staged_lock:
            if key not in _staged:
                _make_empty_dir(self.empty_layer)
                for _, staging in pairs:
                    _make_reachable_dir(staging)
                _staged[key] = _stage(self.name, pairs, self.empty_layer)
            return _staged[key]

    def compiled(self, source: Path, directory: Path, *, shown_as: str) -> Path:
        """``source`` compiled by this runtime's interpreter, once per content and version,
        so that a sandbox runs its bytecode instead of compiling it at every start (~3 ms of
        CPU for the entry). Raises OSError."""
        fingerprint = hashlib.sha256(source.read_bytes() + f"{self.interpreter}\0{self.info.version}".encode())
        target = directory / f"{source.stem}-{self.name}-{fingerprint.hexdigest()[:16]}.pyc"
        _private_dir(directory)  # before trusting what is in it
        if target.exists():
            return target
        temporary = directory / f"{target.name}.{os.getpid()}-{threading.get_ident()}"
        done = subprocess.run(
            [self.interpreter, "-I", "-S", "-c", COMPILE, str(source), str(temporary), shown_as],
            capture_output=True,
            text=True,
            env={},
        )
        if done.returncode != 0:
            temporary.unlink(missing_ok=True)
            detail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
            raise OSError(COMPILE_FAILED.format(name=self.name, source=source.name, detail=detail[0]))
        temporary.replace(target)
        _remove_stale(directory.glob(f"{source.stem}-{self.name}-*.pyc"), keep=target)
        return target


def _remove_stale(paths, *, keep: Path) -> None:
    # Bytecode of other versions, made long ago. A server still running one of them compiles
    # it again at its next sandbox.
    for path in paths:
        try:
            if path != keep and time.time() - path.stat().st_mtime > STALE_BYTECODE_SECONDS:
                path.unlink()
        except FileNotFoundError:
            pass


def _private_dir(directory: Path) -> None:
    # What sandboxes run comes from here: nobody but this uid may have put anything in it.
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.stat()
    if info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise OSError(NOT_PRIVATE.format(path=directory, uid=os.geteuid()))


def trusted_work_dir(work_dir: Path) -> None:
    """Make ``work_dir`` (mode 0711) unless it exists, then check that nobody but this uid
    (and root) can change what is in it or where it leads: sandboxes are made of what lies
    there (the runtimes' staging and empty layers, the entry's bytecode, the uid locks, the
    job directories). A directory some other user made first (the default is under /tmp)
    would let that user swap them. Raises OSError."""
    work_dir = Path(os.path.abspath(work_dir))
    work_dir.mkdir(mode=0o711, parents=True, exist_ok=True)
    uid = os.geteuid()
    own = os.lstat(work_dir)
    if not stat.S_ISDIR(own.st_mode):
        _untrusted(work_dir, work_dir, "is not a directory (a symbolic link?)")
    if own.st_uid != uid or own.st_mode & 0o022:
        _untrusted(work_dir, work_dir, f"belongs to uid {own.st_uid} or is writable by others")
    # Every directory on the way, as named and as resolved: owned by root or this uid, and
    # writable by nobody else unless sticky (/tmp), where others cannot rename what is ours.
    real = Path(os.path.realpath(work_dir))
    for path in [*work_dir.parents, *real.parents, real]:
        info = os.lstat(path)
        if info.st_uid not in (0, uid):
            _untrusted(work_dir, path, f"belongs to uid {info.st_uid}")
        if stat.S_ISDIR(info.st_mode) and info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
            _untrusted(work_dir, path, "is writable by others and not sticky")


def _untrusted(work_dir: Path, path: Path, why: str) -> None:
    raise OSError(UNTRUSTED_WORK_DIR.format(work_dir=work_dir, path=path, why=why, uid=os.geteuid()))


_staged: dict[tuple[str, str], int] = {}
_staged_lock = threading.Lock()


def _stage(name: str, pairs: list[tuple[str, Path]], empty_layer: Path) -> int:
    arguments = ["/usr", str(empty_layer), *(str(part) for pair in pairs for part in pair)]
    helper = subprocess.Popen(
        [UNSHARE, "--mount", "--propagation", "slave", "--", SH, "-c", STAGE_AND_WAIT, "stage", *arguments],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd="/",
        env={},
    )
    try:
        said = helper.stdout.readline()
        if said == STAGED[1]:
            log.warning(OVERLAYS_MISSING)
        elif said != STAGED[0]:
            helper.stdin.close()
            detail = helper.stderr.read().decode(errors="replace").strip() or f"exit status {helper.wait()}"
            raise OSError(STAGING_FAILED.format(name=name, detail=detail))
        # Still running (it waits on its standard input), so the pid is still the helper's.
        return os.open(f"/proc/{helper.pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        helper.stdin.close()
        helper.wait()
        helper.stdout.close()
        helper.stderr.close()


def spawn_prefix(runtime: Runtime, uid: int | None) -> list[str]:
    """The command bwrap is started through: one nsenter that enters the mount namespace
    where the runtime is staged (as root), then takes the sandbox's uid and gid, with no
    supplementary groups and (as setuid from root drops them) no capabilities left."""
    options = []
    if runtime.staged:
        # Through this process's descriptor, which nsenter opens and closes itself: the
        # descriptor is not inherited, so the sandbox never holds the namespace.
        options.append(f"--mount=/proc/{os.getpid()}/fd/{runtime.staged_namespace()}")
    if uid is not None:
        options += [f"--setuid={uid}", f"--setgid={uid}"]  # --setgid also drops every group
    return [NSENTER, *options, "--"] if options else []


def spawn_tool_problems() -> list[str]:
    return [
        SPAWN_TOOL_MISSING.format(path=path, package=package)
        for path, package in SPAWN_TOOLS.items()
        if not os.access(path, os.X_OK)
    ]


def _has_libpython(prefix: str) -> bool:
    return any(Path(prefix, "lib").glob("libpython3*.so*"))


def _is_under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _make_empty_dir(path: Path) -> None:
    # The lower layer under each overlay: whatever were in it would show through.
    _make_reachable_dir(path)
    if any(path.iterdir()):
        raise OSError(NOT_EMPTY.format(path=path))


def _make_reachable_dir(path: Path) -> None:
    # work_dir/runtimes/<name>: only the directories we own are opened up, for traversal.
    for directory, mode in ((path.parent.parent, 0o711), (path.parent, 0o711), (path, 0o755)):
        directory.mkdir(exist_ok=True)
        os.chmod(directory, mode)


class SlotPool:
    """Host uids for concurrent sandboxes; a slot is claimed by an exclusive lock on a file,
    so several server processes on one machine never share a uid.

    The lock is the one signal a reaper (possibly in another process) trusts: it is taken
    before anything runs as the uid or any cgroup is named after it, and dropped only after
    every process of the uid has been reaped and its cgroup removed."""

    def __init__(self, directory: Path, base: int, count: int):
        self.directory = directory
        self.base = base
        self.count = count
        self._held: dict[int, int] = {}
        self._next = 0
        self._lock = threading.Lock()

    def claim(self) -> int | None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock:
            for step in range(self.count):
                uid = self.base + (self._next + step) % self.count
                fd = self._try_lock(uid)
                if fd is not None:
                    self._held[uid] = fd
                    self._next = (self._next + step + 1) % self.count
                    return uid
        return None

    def release(self, uid: int) -> None:
        with self._lock:
            fd = self._held.pop(uid, None)
        if fd is not None:
            os.close(fd)

    def is_free(self, uid: int) -> bool:
        with self.held_if_free(uid) as free:
            return free

    @contextlib.contextmanager
    def held_if_free(self, uid: int) -> Iterator[bool]:
        """Hold the slot for the duration (yields True) when nobody has claimed it, so nothing
        can start as that uid meanwhile; yields False when it is claimed."""
        fd = None
        if self.owns(uid):
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = self._try_lock(uid)
        try:
            yield fd is not None
        finally:
            if fd is not None:
                os.close(fd)

    def owns(self, uid: int) -> bool:
        return self.base <= uid < self.base + self.count

    def _try_lock(self, uid: int) -> int | None:
        path = self.directory / f"{uid}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            return None  # the directory is gone: nothing is claimed through it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # A lock on a file someone unlinked meanwhile guards nothing: only the file at
            # the path counts (the same check other claimers and reapers make).
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                raise BlockingIOError
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            return None
        return fd


def reap_strays(slots: SlotPool, older_than_seconds: float) -> int:
    """Kill processes running as a sandbox uid that nobody has claimed, older than the age.

    Each candidate is pinned with a pidfd before it is looked at, and killed only while this
    reaper holds its uid's slot: a process alive while its slot is free belongs to no live
    run (runs release the slot only after all their processes are reaped), and nothing new
    can start as that uid while the reaper holds it. A recycled pid is never hit."""
    candidates: dict[int, list[int]] = {}
    try:
        for _, pidfd, uid in _sandbox_processes(slots, older_than_seconds):
            candidates.setdefault(uid, []).append(pidfd)
        killed = 0
        for uid, pidfds in candidates.items():
            with slots.held_if_free(uid) as free:
                if free:
                    killed += sum(_pidfd_kill(pidfd) for pidfd in pidfds)
        return killed
    finally:
        for pidfd in (fd for fds in candidates.values() for fd in fds):
            os.close(pidfd)


def _sandbox_processes(slots: SlotPool, older_than_seconds: float) -> Iterator[tuple[int, int, int]]:
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not slots.owns(_owner(entry)):
            continue
        try:
            pidfd = os.pidfd_open(int(entry.name))
        except OSError:
            continue  # gone meanwhile
        info = _process_info(entry)  # read after pinning: if the pid was recycled, the pidfd is dead
        if info is None or info[2] == "Z" or not slots.owns(info[0]) or uptime - info[1] / ticks < older_than_seconds:
            os.close(pidfd)
            continue
        yield int(entry.name), pidfd, info[0]


def end_processes_of(uid: int, *, attempts: int = 100) -> None:
    """Kill every process of ``uid`` and wait until none is left (zombies aside): for a run
    without a cgroup whose bwrap did not take its sandbox along, before the uid is released."""
    for attempt in range(attempts):
        left = [
            pid
            for pid in all_pids()
            if _owner(Path(f"/proc/{pid}")) == uid and (_process_info(Path(f"/proc/{pid}")) or (0, 0, "Z"))[2] != "Z"
        ]
        if not left:
            return
        for pid in left:
            kill(pid)  # only this uid's processes: their pids cannot be recycled while we hold it
        time.sleep(0.001 * (attempt + 1))


def _owner(proc_dir: Path) -> int:
    try:
        return proc_dir.stat().st_uid
    except OSError:
        return -1


def _pidfd_kill(pidfd: int) -> int:
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        return 1
    except ProcessLookupError:
        return 0


def _process_info(proc_dir: Path) -> tuple[int, int, str] | None:
    try:
        uid = proc_dir.stat().st_uid
        stat = (proc_dir / "stat").read_text()
    except OSError:
        return None  # gone meanwhile
    fields = stat.rpartition(")")[2].split()
    return uid, int(fields[19]), fields[0]  # state is field 3, starttime field 22


# --- host processes and kernel settings -----------------------------------------------------


def merged_usr_link(name: str) -> list[str]:
    # Debian and most distributions merged /bin, /lib... into /usr: recreate the links.
    path = Path("/") / name
    if path.is_symlink():
        return ["--symlink", os.readlink(path), str(path)]
    return ["--ro-bind", str(path), str(path)] if path.is_dir() else []


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def children(pid: int) -> list[int]:
    """The children of ``pid``'s main thread (none when it is gone)."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read_sysctl(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def options_missing(command: str, options: tuple[str, ...]) -> list[str]:
    """Those of the options that ``command --help`` does not mention."""
    try:
        shown = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return list(options)
    return [option for option in options if option not in shown.stdout + shown.stderr]


def userns_problems() -> list[str]:
    if _read_sysctl("/proc/sys/user/max_user_namespaces") == "0":
        return [USERNS_DISABLED]
    restricted = (
        ("/proc/sys/kernel/unprivileged_userns_clone", "0"),
        (
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            "1",
        ),
    )
    if any(_read_sysctl(path) == bad for path, bad in restricted):
        return [USERNS_RESTRICTED]
    return []
