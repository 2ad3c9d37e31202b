"""The job directory of a local sandbox: where its script and stdin go, and its scratch space.

When the server runs as root, each sandbox gets a tmpfs of its own, mounted by the host on
the job directory with a cap on both bytes and files (inodes): ``job/`` holds the run's script
and stdin (the sandbox sees it read-only as ``/sandbox``), ``work/`` is the script's working
directory (``/work``: the given files go there, and what the script leaves there is taken
back) and ``tmp/`` is its ``/tmp``. They are handed to bubblewrap as open descriptors, so the
sandbox's ``/proc/self/mountinfo`` shows a tmpfs and neutral paths, nothing of the host's. The
host reads the filesystem's fullness itself when the run ends. Without root, the job directory
is a plain directory holding the script, and bubblewrap makes /tmp and /work tmpfs mounts of
the disk limit each (bytes capped, files not); the entry then places the given files and
reports what the run left in /work, as in a pod.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import functools
import os
import shutil
from pathlib import Path

from executions.runners.base import RunFile
from executions.runners.files import place, write_new
from executions.runners.outcome import DISK_FULL, INODES_FULL

JOB_FILES = {"script": "main.py", "stdin": "stdin"}
GIVEN_LIST = "given.list"  # where the host cannot reach /work: the list the entry places files from
MNT_DETACH = 2
MS_BIND, MS_SHARED = 0x1000, 0x100000
# The run's own files share the filesystem with /tmp: room for the largest script and stdin.
FILES_ALLOWANCE_BYTES = 256 * 1024
FILES_ALLOWANCE_INODES = 8  # the three directories, the two files, and the root


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    libc.syscall.restype = ctypes.c_long
    return libc


def share_mounts_under(directory: Path) -> None:
    """Make ``directory`` a shared mount of its own (a bind onto itself, once), so that the
    scratch spaces mounted under it later also appear in mount namespaces copied from this one
    before (the one where a runtime is staged for bubblewrap, see setup.py)."""
    path = bytes(directory)
    if not _is_mount_point(directory) and _libc().mount(path, path, None, MS_BIND, None) != 0:
        _raise(f"binding {directory} onto itself")
    if _libc().mount(None, path, None, MS_SHARED, None) != 0:
        _raise(f"sharing the mounts under {directory}")


def _is_mount_point(directory: Path) -> bool:
    target = str(directory)
    with open("/proc/self/mountinfo") as table:
        return any(line.split()[4] == target for line in table)


def _raise(what: str) -> None:
    error = ctypes.get_errno()
    raise OSError(error, f"{what}: {os.strerror(error)}")


class JobDir:
    """One sandbox's job directory; ``mounted`` when it is a tmpfs of its own."""

    def __init__(self, path: Path, *, uid: int | None, disk_mb: int, inodes: int | None):
        self.path = path
        self.mounted = False
        self.fds: dict[str, int] = {}
        self.uid = uid
        self.files, self.work = path / "job", path / "work"
        if uid is None or inodes is None:
            self.files.mkdir(mode=0o700)  # /work is bubblewrap's capped tmpfs: nothing of it here
            if uid is not None:
                os.chown(self.files, uid, uid)
            return
        try:
            self._mount(disk_mb, inodes)
            # Only the sandbox's own uid may enter any (the server, as root, writes the files).
            for directory, mode in ((self.files, 0o500), (self.work, 0o700), (path / "tmp", 0o700)):
                directory.mkdir(mode=mode)
                os.chown(directory, uid, uid)
            self.fds = {name: os.open(path / name, os.O_PATH | os.O_CLOEXEC) for name in ("job", "work", "tmp")}
        except BaseException:
            self.remove()
            raise

    def _mount(self, disk_mb: int, inodes: int) -> None:
        # No uid= option: the sandbox would read the host uid in its mount table.
        size = (disk_mb << 20) + FILES_ALLOWANCE_BYTES
        options = f"size={size},nr_inodes={inodes + FILES_ALLOWANCE_INODES},mode=0711".encode()
        if _libc().mount(b"tmpfs", bytes(self.path), b"tmpfs", 0, options) != 0:
            _raise(f"mounting the scratch space on {self.path}")
        self.mounted = True

    def write(self, name: str, data: bytes, *, file_name: str | None = None) -> None:
        write_new(self.files / (file_name or JOB_FILES[name]), data, mode=0o444)

    def place(self, files: tuple[RunFile, ...]) -> None:
        """The run's given files: into the working directory where the host can reach it (its
        own tmpfs), else beside the script with a list the entry places them from (given=)."""
        if self.mounted:
            place(self.work, files, uid=self.uid)
            return
        listed = []
        for number, file in enumerate(files):
            write_new(self.files / f"given-{number}", file.data, mode=0o444)
            listed.append(f"{base64.b64encode(file.name.encode()).decode()} given-{number}\n")
        if files:
            write_new(self.files / GIVEN_LIST, "".join(listed).encode(), mode=0o444)

    def fullness(self) -> str | None:
        """DISK_FULL or INODES_FULL when the scratch space is used up, by the host's reading."""
        if not self.mounted:
            return None
        try:
            stats = os.statvfs(self.path)
        except OSError:
            return None
        if stats.f_bavail * stats.f_frsize < FILES_ALLOWANCE_BYTES // 4:
            return DISK_FULL
        if stats.f_favail == 0:
            return INODES_FULL
        return None

    def close_fds(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}

    def remove(self) -> None:
        self.close_fds()
        remove_job_dir(self.path)


class DetachedScratch(JobDir):
    """The scratch space of a run forked from a template (template.py): the same tmpfs, with the
    same caps and the same ``job/``, ``work/`` and ``tmp/``, but mounted nowhere on the host. It
    is a detached mount the host holds by a descriptor (and reaches at ``/proc/self/fd/N``);
    the run's first process moves it into its own mount namespace. Nothing is left on disk, and
    it is gone once the run's namespace and this descriptor are."""

    def __init__(self, *, uid: int, disk_mb: int, inodes: int):
        self.uid, self.mounted, self.fds = uid, True, {}
        self.mount_fd = _detached_tmpfs((disk_mb << 20) + FILES_ALLOWANCE_BYTES, inodes + FILES_ALLOWANCE_INODES)
        self.path = Path(f"/proc/self/fd/{self.mount_fd}")
        self.files, self.work = self.path / "job", self.path / "work"
        try:
            for directory, mode in ((self.files, 0o500), (self.work, 0o700), (self.path / "tmp", 0o700)):
                directory.mkdir(mode=mode)
                os.chown(directory, uid, uid)
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        if self.mount_fd >= 0:
            os.close(self.mount_fd)
            self.mount_fd = -1


SYS_FSOPEN, SYS_FSCONFIG, SYS_FSMOUNT = 430, 431, 432  # the same numbers on every 64-bit architecture
FSOPEN_CLOEXEC, FSMOUNT_CLOEXEC, FSCONFIG_SET_STRING, FSCONFIG_CMD_CREATE = 1, 1, 1, 6
MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x2, 0x4


def _detached_tmpfs(size: int, inodes: int) -> int:
    """A descriptor of a new tmpfs mounted nowhere (the kernel's new mount API). Raises OSError."""
    libc = _libc()
    context = libc.syscall(SYS_FSOPEN, b"tmpfs", FSOPEN_CLOEXEC)
    if context < 0:
        _raise("opening a tmpfs context")
    try:
        for key, value in ((b"size", str(size).encode()), (b"nr_inodes", str(inodes).encode()), (b"mode", b"0711")):
            if libc.syscall(SYS_FSCONFIG, context, FSCONFIG_SET_STRING, key, value, 0) < 0:
                _raise(f"setting the scratch space's {key.decode()}")
        if libc.syscall(SYS_FSCONFIG, context, FSCONFIG_CMD_CREATE, None, None, 0) < 0:
            _raise("creating the scratch space")
        mount = libc.syscall(SYS_FSMOUNT, context, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
        if mount < 0:
            _raise("mounting the scratch space")
        return mount
    finally:
        os.close(context)


def remove_job_dir(path: Path) -> None:
    """Unmount the job directory's tmpfs, if it has one, then remove the directory."""
    _libc().umount2(bytes(path), MNT_DETACH)  # EINVAL when it is no mount point: nothing to do
    shutil.rmtree(path, onexc=_open_up_and_retry)


def _open_up_and_retry(function, failed: str, error: BaseException) -> None:
    # A directory the sandbox made unreadable (mode 0) is still ours to open up and remove.
    try:
        os.chmod(os.path.dirname(failed), 0o700)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, 0o700)
            shutil.rmtree(failed, onexc=_ignore)
        else:
            function(failed)
    except OSError:
        pass


def _ignore(*_) -> None:
    pass
