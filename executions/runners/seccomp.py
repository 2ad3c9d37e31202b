"""The system-call filter of local sandboxes (bubblewrap's ``--seccomp``), built with libseccomp.

Everything is allowed except what follows. The namespaces, the unprivileged uid and the
missing capabilities already stop most of the kernel from being reached; what is denied here
is what an unprivileged process can still call and a Python script never needs, where the
kernel has had the most exploitable bugs, plus a few calls that need a capability the sandbox
lacks (denied again, in case). System calls of another architecture (32-bit calls on a 64-bit
kernel) kill the caller, so the list cannot be sidestepped through them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os

# "As if this kernel had none": programs that probe for io_uring fall back to ordinary I/O.
MISSING = ("io_uring_setup", "io_uring_enter", "io_uring_register")
DENIED = (
    # Reachable unprivileged, never needed by a script, much exploited.
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
    # Need a capability the sandbox has not got.
    "open_by_handle_at", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "acct", "syslog",
)
LIBSECCOMP_MISSING = "libseccomp is missing (package libseccomp2); the local runner filters system calls with it"

_ACT_ALLOW = 0x7FFF0000
_ACT_ERRNO = 0x00050000


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
    library.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    library.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    library.seccomp_release.argtypes = [ctypes.c_void_p]
    return library


def problems() -> list[str]:
    return [] if _library() is not None else [LIBSECCOMP_MISSING]


@functools.cache
def program() -> bytes:
    """The filter as compiled BPF (what ``bwrap --seccomp FD`` reads). Raises OSError."""
    library = _library()
    if library is None:
        raise OSError(LIBSECCOMP_MISSING)
    context = library.seccomp_init(_ACT_ALLOW)
    if not context:
        raise OSError("seccomp_init failed")
    try:
        for names, code in ((MISSING, errno.ENOSYS), (DENIED, errno.EPERM)):
            for name in names:
                number = library.seccomp_syscall_resolve_name(name.encode())
                if number < 0:
                    continue  # not a system call of this architecture
                _check(library.seccomp_rule_add(context, _errno_action(code), number, 0), f"deny {name}")
        return _exported(library, context)
    finally:
        library.seccomp_release(context)


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
