"""The system-call filter of sandboxes, built with libseccomp (bubblewrap applies it with
``--seccomp``; runners that cannot apply one from outside hand it to the entry, ``filter=``).

Everything is allowed except what follows. The namespaces, the unprivileged uid and the
missing capabilities already stop most of the kernel from being reached; what is denied here
is what an unprivileged process can still call and a Python script never needs, where the
kernel has had the most exploitable bugs, plus a few calls that need a capability the sandbox
lacks (denied again, in case). System calls of another architecture (32-bit calls on a 64-bit
kernel) kill the caller, so the list cannot be sidestepped through them.

The supervisor (the entry, PID 1 of the sandbox) shares its uid with the script, and a uid may
reach its own processes. Being non-dumpable keeps the script out of its memory, descriptors
and ``/proc`` files; what the kernel still lets a process of the same uid do to another one
(set its limits, priority, CPU affinity, I/O priority; signal it) is denied here whenever it
names PID 1, and the calls that reach into other processes are denied outright. Pid arguments
are compared on their low 32 bits, as the kernel reads them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os

# "As if this kernel had none": programs that probe for io_uring fall back to ordinary I/O.
MISSING = ("io_uring_setup", "io_uring_enter", "io_uring_register", "clone3")
DENIED = (
    # Reachable unprivileged, never needed by a script, much exploited.
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    # Need a capability the sandbox has not got.
    "open_by_handle_at",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "syslog",
    # Reach into another process (the supervisor is non-dumpable, so they fail anyway), or
    # signal one through a descriptor of its /proc directory.
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    "pidfd_send_signal",
)
SUPERVISOR_PID = 1
# System calls whose first argument is a pid (or thread group id): denied for the supervisor's.
SUPERVISOR_TARGETED = (
    "kill",
    "tkill",
    "tgkill",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "pidfd_open",
    "prlimit64",
    "sched_setaffinity",
    "sched_setscheduler",
    "sched_setparam",
    "sched_setattr",
    "migrate_pages",
    "move_pages",
)
# New namespaces of any kind: the sandbox has its own already, and a sandbox kernel that lets
# an unprivileged process make them (gVisor's makes user and mount namespaces) would hand the
# script every capability inside a user namespace. clone3 passes its flags in memory the filter
# cannot read: it looks absent, and the C library falls back to clone.
CLONE_NEW = {
    "mount": 0x00020000,
    "cgroup": 0x02000000,
    "uts": 0x04000000,
    "ipc": 0x08000000,
    "user": 0x10000000,
    "pid": 0x20000000,
    "net": 0x40000000,
}
NAMESPACE_CALLS = ("unshare", "clone")  # the flags are the first argument (x86_64, aarch64)
# Joining the supervisor's process group (setpgid(pid, 1)), or making it the owner of a
# descriptor's signals (fcntl F_SETOWN to pid 1 or group 1; F_SETOWN_EX, whose target is in
# memory the filter cannot read).
F_SETOWN, F_SETOWN_EX = 8, 15
# setpriority(which, who) and ioprio_set(which, who): the supervisor by pid or process group,
# or every process of the uid.
PRIORITY_CALLS = {"setpriority": (0, 1, 2), "ioprio_set": (1, 2, 3)}  # (by pid, by group, by user)
LIBSECCOMP_MISSING = "libseccomp is missing (package libseccomp2); the local runner filters system calls with it"

_ACT_ALLOW = 0x7FFF0000
_ACT_ERRNO = 0x00050000
_CMP_MASKED_EQ = 7
_LOW_32_BITS = 0xFFFFFFFF


class _ArgCmp(ctypes.Structure):  # struct scmp_arg_cmp
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


def _equals(arg: int, value: int) -> _ArgCmp:
    return _ArgCmp(arg, _CMP_MASKED_EQ, _LOW_32_BITS, value & _LOW_32_BITS)


def _errno_action(code: int) -> int:
    return _ACT_ERRNO | (code & 0xFFFF)


@functools.cache
def _library() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("seccomp")
    if name is None:
        return None
    library = ctypes.CDLL(name, use_errno=True)
    library.seccomp_init.restype = ctypes.c_void_p
    library.seccomp_init.argtypes = [ctypes.c_uint32]
    library.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    library.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(_ArgCmp),
    ]
    library.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    library.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    library.seccomp_release.argtypes = [ctypes.c_void_p]
    return library


def problems() -> list[str]:
    return [] if _library() is not None else [LIBSECCOMP_MISSING]


@functools.cache
def program(*, namespaces: bool = False) -> bytes:
    """The filter as compiled BPF (what ``bwrap --seccomp FD`` reads). Raises OSError.

    ``namespaces``: the filter of a template (template.py), which must make each run's
    namespaces; every run it forks installs the whole filter before anything of the run."""
    library = _library()
    if library is None:
        raise OSError(LIBSECCOMP_MISSING)
    context = library.seccomp_init(_ACT_ALLOW)
    if not context:
        raise OSError("seccomp_init failed")
    try:
        for names, code in ((MISSING, errno.ENOSYS), (DENIED, errno.EPERM)):
            for name in names:
                _deny(library, context, name, code)
        for name in SUPERVISOR_TARGETED:
            _deny(library, context, name, errno.EPERM, _equals(0, SUPERVISOR_PID))
        for name, (by_pid, by_group, by_user) in PRIORITY_CALLS.items():
            for which in (by_pid, by_group):
                _deny(library, context, name, errno.EPERM, _equals(0, which), _equals(1, SUPERVISOR_PID))
            _deny(library, context, name, errno.EPERM, _equals(0, by_user))
        _deny(library, context, "setpgid", errno.EPERM, _equals(1, SUPERVISOR_PID))
        for owner in (SUPERVISOR_PID, -SUPERVISOR_PID):
            _deny(library, context, "fcntl", errno.EPERM, _equals(1, F_SETOWN), _equals(2, owner))
        _deny(library, context, "fcntl", errno.EPERM, _equals(1, F_SETOWN_EX))
        for name in NAMESPACE_CALLS if not namespaces else ():
            for flag in CLONE_NEW.values():
                _deny(library, context, name, errno.EPERM, _ArgCmp(0, _CMP_MASKED_EQ, flag, flag))
        return _exported(library, context)
    finally:
        library.seccomp_release(context)


def _deny(library: ctypes.CDLL, context: int, name: str, code: int, *conditions: _ArgCmp) -> None:
    number = library.seccomp_syscall_resolve_name(name.encode())
    if number < 0:
        return  # not a system call of this architecture
    array = (_ArgCmp * len(conditions))(*conditions)
    result = library.seccomp_rule_add_array(context, _errno_action(code), number, len(conditions), array)
    _check(result, f"deny {name}")


def _exported(library: ctypes.CDLL, context: int) -> bytes:
    fd = os.memfd_create("seccomp", os.MFD_CLOEXEC)
    try:
        _check(library.seccomp_export_bpf(context, fd), "export the filter")
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _check(result: int, what: str) -> None:
    if result < 0:
        raise OSError(-result, f"libseccomp could not {what}: {os.strerror(-result)}")


if __name__ == "__main__":  # the runtime images bake the filter in: python seccomp.py OUTPUT
    import sys

    with open(sys.argv[1], "wb") as output:
        output.write(program())
