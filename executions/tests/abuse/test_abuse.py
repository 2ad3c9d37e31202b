"""The abuse suite: every hostile class of script, run for real under each isolation level.

Each case is an attack a script can make, with what must come of it: the exact status and
``error_type``, what the script may see (its own output says how each attempt failed), the
figures the host reports (true: measured by the host, no sign of a forged report), and a
clean next run (nothing the attack made survives into it). README.md's table "What a script
cannot do" is rendered from :data:`CASES` and checked against them here, so neither drifts.

The classes: escape and reach (the supervisor, other runs, the server, its store, files,
environment and network), exhaustion (CPU, memory, processes, threads, disk bytes and files,
output, descriptors), persistence (what outlives a run), forgery (writing one's own result)
and kernel attack surface (the calls the filter denies).
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from executions.runners.base import ErrorType, Limits, RunResult, RunSpec, Stream
from executions.runners.local.runner import LocalRunner
from executions.runners.outcome import (
    CPU_TIMED_OUT,
    DISK_FULL,
    FORBIDDEN_CALL,
    INODES_FULL,
    MEMORY_EXCEEDED,
    OUTPUT_EXCEEDED,
    TIMED_OUT,
)

README = Path(__file__).resolve().parents[3] / "README.md"
TABLE_START, TABLE_END = "<!-- abuse-table:start -->", "<!-- abuse-table:end -->"
LIMITS = Limits(wall_seconds=3, cpu_seconds=2, memory_mb=96, processes=16, disk_mb=4, output_bytes=64 * 1024)
GRACE_SECONDS = 3.0  # the local runner's host backstop beyond the wall limit
X86_64 = platform.machine() == "x86_64"
CANARY = "INTEGR8SCODE_TEST_CANARY"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the isolation levels run as root (sandbox uids, cgroups, mounts)"),
    pytest.mark.skipif(not shutil.which("bwrap"), reason="bubblewrap is not installed"),
]

# What every attacking script starts with: one line per attempt, "name: ok" or how it failed.
PRELUDE = """
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def attempt(name, action):
    try:
        result = action()
        print(f"{name}: ok", flush=True)
        return result
    except OSError as exc:
        print(f"{name}: {errno.errorcode.get(exc.errno, exc.errno)}", flush=True)
def syscall(number, *args):
    result = libc.syscall(number, *args)
    if result < 0:
        raise OSError(ctypes.get_errno(), "")
    return result
"""

# x86_64 system call numbers the cases use (the suite skips the raw-call cases elsewhere).
NR = {
    "ptrace": 101,
    "process_vm_readv": 310,
    "kcmp": 312,
    "pidfd_getfd": 438,
    "pidfd_open": 434,
    "io_uring_setup": 425,
    "keyctl": 250,
    "add_key": 248,
    "bpf": 321,
    "perf_event_open": 298,
    "userfaultfd": 323,
    "tgkill": 234,
    "prlimit64": 302,
    "ioprio_set": 251,
}


@dataclass(frozen=True)
class Case:
    name: str
    klass: str
    cannot: str  # README: "A script cannot ..."
    result: str  # README: what happens instead
    script: str
    error_type: ErrorType | None = None  # None: the run completes (the attempt failed inside it)
    stdout: str | None = None  # exactly this, when given
    lines: tuple[str, ...] = ()  # each of these lines, when given
    message: str | None = None
    limits: dict = field(default_factory=dict)
    level_lines: dict[str, tuple[str, ...]] = field(default_factory=dict)  # more lines, for one level
    x86_64_only: bool = False
    levels: tuple[str, ...] = ("bubblewrap", "gvisor")


def attempts(*names: str, outcome: str = "EPERM") -> tuple[str, ...]:
    return tuple(f"{name}: {outcome}" for name in names)


CASES = [
    # --- escape and reach --------------------------------------------------------------------
    Case(
        "trace-the-supervisor",
        "escape and reach",
        "attach to, or read or write the memory of, the process that reports its result",
        "refused (EPERM, EACCES); the run goes on",
        f"""
        attempt("ptrace attach", lambda: syscall({NR["ptrace"]}, 16, 1, 0, 0))
        attempt("ptrace seize", lambda: syscall({NR["ptrace"]}, 0x4206, 1, 0, 0))
        attempt("process_vm_readv", lambda: syscall({NR["process_vm_readv"]}, 1, 0, 0, 0, 0, 0))
        attempt("read /proc/1/mem", lambda: open("/proc/1/mem", "rb").read(1))
        attempt("open /proc/1/fd/1", lambda: os.open("/proc/1/fd/1", os.O_WRONLY))
        attempt("list /proc/1/fd", lambda: os.listdir("/proc/1/fd"))
        attempt("read /proc/1/environ", lambda: open("/proc/1/environ", "rb").read())
        attempt("read /proc/1/maps", lambda: open("/proc/1/maps").read())
        """,
        lines=(
            *attempts("ptrace attach", "ptrace seize", "process_vm_readv"),
            *attempts("read /proc/1/mem", "open /proc/1/fd/1", outcome="EACCES"),
        ),
        # gVisor's /proc shows any process's environment, map and descriptor list to all (the
        # supervisor's hold no secret); Linux shows them to nobody, the supervisor being non-dumpable.
        level_lines={
            "bubblewrap": attempts("list /proc/1/fd", "read /proc/1/environ", "read /proc/1/maps", outcome="EACCES")
        },
        x86_64_only=True,
    ),
    Case(
        "borrow-the-supervisors-descriptors",
        "escape and reach",
        "take a descriptor of the process that reports its result (pidfd_open, pidfd_getfd, kcmp)",
        "refused (EPERM); the run goes on",
        f"""
        attempt("pidfd_open", lambda: os.pidfd_open(1))
        attempt("pidfd_getfd", lambda: syscall({NR["pidfd_getfd"]}, os.open("/proc/1", os.O_RDONLY), 1, 0))
        attempt("kcmp", lambda: syscall({NR["kcmp"]}, os.getpid(), 1, 0, 1, 1))
        """,
        lines=attempts("pidfd_open", "pidfd_getfd", "kcmp"),
        x86_64_only=True,
    ),
    Case(
        "limit-or-slow-the-supervisor",
        "escape and reach",
        "change the limits, priority, CPU affinity or I/O priority of the process that reports its result",
        "refused (EPERM); the run goes on",
        f"""
        import resource
        attempt("prlimit", lambda: resource.prlimit(1, resource.RLIMIT_CPU, (0, 0)))
        attempt("prlimit (pid in the high bits)", lambda: syscall({NR["prlimit64"]}, 1 | (1 << 32), 0, 0, 0))
        attempt("setpriority", lambda: os.setpriority(os.PRIO_PROCESS, 1, 19))
        attempt("setpriority of the uid", lambda: os.setpriority(os.PRIO_USER, 0, 19))
        attempt("sched_setaffinity", lambda: os.sched_setaffinity(1, {{0}}))
        attempt("ioprio_set", lambda: syscall({NR["ioprio_set"]}, 1, 1, 0))
        attempt("join its process group", lambda: os.setpgid(0, 1))
        attempt("own prlimit", lambda: resource.prlimit(0, resource.RLIMIT_NOFILE))
        """,
        lines=(
            *attempts(
                "prlimit",
                "prlimit (pid in the high bits)",
                "setpriority",
                "setpriority of the uid",
                "sched_setaffinity",
                "ioprio_set",
                "join its process group",
            ),
            "own prlimit: ok",
        ),
        x86_64_only=True,
    ),
    Case(
        "signal-the-supervisor",
        "escape and reach",
        "signal the process that reports its result",
        "refused (EPERM); the run goes on and reports the truth",
        f"""
        import signal
        for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGSTOP, signal.SIGXCPU):
            attempt(f"kill {{sig.name}}", lambda: os.kill(1, sig))
        attempt("tgkill", lambda: syscall({NR["tgkill"]}, 1, 1, signal.SIGKILL))
        attempt("pidfd_send_signal", lambda: signal.pidfd_send_signal(os.open("/proc/1", os.O_RDONLY), signal.SIGKILL))
        import fcntl
        for owner in (1, -1):  # PID 1, process group 1: signals on I/O
            attempt(f"F_SETOWN {{owner}}", lambda: fcntl.fcntl(os.pipe()[0], fcntl.F_SETOWN, owner))
        attempt("kill every process", lambda: os.kill(-1, signal.SIGKILL))
        """,
        lines=attempts(
            "kill SIGKILL",
            "kill SIGTERM",
            "kill SIGINT",
            "kill SIGSTOP",
            "kill SIGXCPU",
            "tgkill",
            "pidfd_send_signal",
            "F_SETOWN 1",
            "F_SETOWN -1",
        ),
        x86_64_only=True,
    ),
    Case(
        "see-other-processes",
        "escape and reach",
        "see or reach any process but its own and the supervisor (other runs, the server)",
        "a PID namespace of its own: /proc lists PID 1 and the script",
        "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))",
        stdout="[1, 2]\n",
    ),
    Case(
        "reach-the-network",
        "escape and reach",
        "reach any network: the internet, the host's loopback (the server, its store), IPv6",
        "no network interface but its own loopback: unreachable or refused",
        """
        import socket
        for family, address in [(socket.AF_INET, ("1.1.1.1", 53)), (socket.AF_INET, ("127.0.0.1", $PORT)),
                                (socket.AF_INET6, ("2606:4700:4700::1111", 53)), (socket.AF_INET6, ("::1", $PORT))]:
            def connect():
                with socket.socket(family, socket.SOCK_STREAM) as sock:
                    sock.settimeout(2)
                    sock.connect(address)
            attempt(f"connect {address[0]}", connect)
        attempt("resolve a name", lambda: socket.getaddrinfo("example.com", 80))
        """,
        lines=(
            "connect 1.1.1.1: ENETUNREACH|EHOSTUNREACH",
            "connect 127.0.0.1: ECONNREFUSED",
            "connect 2606:4700:4700::1111: ENETUNREACH|EHOSTUNREACH",
            "connect ::1: ECONNREFUSED",
        ),
    ),
    Case(
        "reach-an-abstract-socket",
        "escape and reach",
        "connect to a Unix socket of the host, abstract or on disk",
        "refused: abstract sockets belong to the network namespace, the host's files are not there",
        """
        import socket
        def connect(address):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(address)
        attempt("abstract socket", lambda: connect("\\0$ABSTRACT"))
        attempt("docker socket", lambda: connect("/var/run/docker.sock"))
        """,
        lines=("abstract socket: ECONNREFUSED", "docker socket: ENOENT"),
    ),
    Case(
        "read-the-server",
        "escape and reach",
        "read the server's files, its settings, secrets or database, or the host's users",
        "not there: only /usr, the runtime and its own files are mounted",
        """
        for path in ["/etc/shadow", "/etc/passwd", "$SETTINGS", "$VAR", "/root", "/home", "/sys/fs/cgroup"]:
            shown = path.replace("$SETTINGS", "settings").replace("$VAR", "var")
            print(shown, "exists" if os.path.exists(path) else "absent")
        """,
        lines=tuple(f"{path} absent" for path in ("/etc/shadow", "/etc/passwd", "settings", "var", "/root", "/home")),
        level_lines={"bubblewrap": ("/sys/fs/cgroup absent",)},  # gVisor's /sys is its own kernel's
    ),
    Case(
        "learn-the-hosts-paths",
        "escape and reach",
        "learn from its mount table where the host keeps things (the runtime, the server, its disk)",
        "/usr and the runtime are overlays that name no host path or device; its files are a tmpfs of its own",
        """
        table = open("/proc/self/mountinfo").read() + open("/proc/self/mounts").read()
        for name, value in [("runtime", "$RUNTIME"), ("server", "$CHECKOUT"), ("work", "$WORK"), ("disk", "$DISK")]:
            print(name, "named" if value in table else "not named")
        """,
        lines=("runtime not named", "server not named", "work not named", "disk not named"),
    ),
    Case(
        "read-the-environment",
        "escape and reach",
        "read the server's environment (SECRET_KEY, database URLs)",
        "an empty, explicit environment; the supervisor's holds nothing of the server's either",
        """
        expected = {"HOME", "LANG", "LD_LIBRARY_PATH", "MALLOC_ARENA_MAX", "PATH", "PWD", "PYTHONDONTWRITEBYTECODE"}
        print("foreign", sorted(set(os.environ) - expected), "$CANARY" in os.environ)
        supervisor = attempt("read /proc/1/environ", lambda: open("/proc/1/environ", "rb").read().split(b"\\0"))
        print("supervisor's foreign", sorted(set(v.split(b"=")[0].decode() for v in supervisor or [] if v) - expected))
        """,
        lines=("foreign [] False", "supervisor's foreign []"),
        level_lines={"bubblewrap": ("read /proc/1/environ: EACCES",)},
    ),
    Case(
        "write-outside-tmp",
        "escape and reach",
        "write anywhere but its scratch space /tmp (the runtime, its own script, /dev)",
        "read-only (EROFS, EACCES)",
        """
        for path in ["/x", "/sandbox/x", "/sandbox/main.py", "/usr/x", "/opt/runtime/x", "/dev/x",
                     "/opt/integr8scode/x"]:
            attempt(f"write {path}", lambda: open(path, "w"))
        """,
        lines=tuple(
            f"write {path}: EROFS|EACCES"
            for path in (
                "/x",
                "/sandbox/x",
                "/sandbox/main.py",
                "/usr/x",
                "/opt/runtime/x",
                "/dev/x",
                "/opt/integr8scode/x",
            )
        ),
    ),
    Case(
        "become-root",
        "escape and reach",
        "gain privileges: root, capabilities, or namespaces of its own (user, mount, ...)",
        "refused by the filter (EPERM), and by the kernel (EINVAL for a uid the sandbox does not map)",
        """
        status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines())
        print("root", os.getuid() == 0, "capabilities", int(status["CapEff"], 16), int(status["CapPrm"], 16))
        attempt("setuid 0", lambda: os.setuid(0))
        attempt("new user namespace", lambda: os.unshare(os.CLONE_NEWUSER))
        attempt("new mount namespace", lambda: os.unshare(os.CLONE_NEWNS))
        """,
        lines=(
            "root False capabilities 0 0",
            "setuid 0: EPERM|EINVAL",
            "new user namespace: EPERM|ENOSPC",
            "new mount namespace: EPERM",
        ),
    ),
    # --- exhaustion ----------------------------------------------------------------------------
    Case(
        "spin-forever",
        "exhaustion",
        "run past its wall-clock limit",
        "stopped at the limit: timeout",
        "while True: pass",
        error_type=ErrorType.TIMEOUT,
        limits={"cpu_seconds": 10},
        message=TIMED_OUT,
    ),
    Case(
        "burn-cpu",
        "exhaustion",
        "use more CPU time than its limit, in any number of processes, together or one after another",
        "stopped when all its processes together reach the limit: timeout (CPU)",
        """
        import time
        while True:  # a relay: each process far below the limit (RLIMIT_CPU counts one process)
            pid = os.fork()
            if pid == 0:
                end = time.process_time() + 0.2
                while time.process_time() < end:
                    pass
                os._exit(0)
            os.waitpid(pid, 0)
        """,
        error_type=ErrorType.TIMEOUT,
        limits={"cpu_seconds": 1, "wall_seconds": 8},
        message=CPU_TIMED_OUT,
    ),
    Case(
        "hog-memory",
        "exhaustion",
        "use more memory than its limit",
        "killed at the limit: memory_limit",
        "blocks = []\nwhile True: blocks.append(bytearray(1 << 20))",
        error_type=ErrorType.MEMORY_LIMIT,
        limits={"memory_mb": 64},
        message=MEMORY_EXCEEDED,
    ),
    Case(
        "fork-bomb",
        "exhaustion",
        "start more processes or threads than its limit (a fork bomb)",
        "refused at the limit (EAGAIN); a bomb that keeps trying ends at the wall limit",
        """
        import threading, time
        forked = []
        def fork():
            while True:
                pid = os.fork()
                if pid == 0:
                    time.sleep(60)
                    os._exit(0)
                forked.append(pid)
        attempt("fork until refused", fork)
        threads = []
        def spawn():
            while True:
                thread = threading.Thread(target=time.sleep, args=(60,), daemon=True)
                thread.start()
                threads.append(thread)
        try:
            spawn()
        except RuntimeError:
            print("threads refused")
        print("within the limit", len(forked) + len(threads) < 16)
        """,
        lines=("fork until refused: EAGAIN", "threads refused", "within the limit True"),
    ),
    Case(
        "fill-the-disk",
        "exhaustion",
        "write more than its disk limit",
        "refused when full (ENOSPC): disk_limit",
        "for i in range(100):\n    with open(f'/tmp/part{i}', 'wb') as f:\n        f.write(b'x' * (1 << 20))",
        error_type=ErrorType.DISK_LIMIT,
        message=DISK_FULL,
    ),
    Case(
        "fill-the-disk-with-files",
        "exhaustion",
        "create more files than its scratch space holds (an inode flood)",
        "refused when full (ENOSPC): disk_limit",
        "for i in range(100_000):\n    open(f'/tmp/f{i}', 'w').close()",
        error_type=ErrorType.DISK_LIMIT,
        message=INODES_FULL,
        # Thousands of creations are slow system calls under gVisor, whose CPU clock also counts
        # what a busy host took: room enough that the files, not the CPU, run out first.
        limits={"cpu_seconds": 8, "wall_seconds": 10},
    ),
    Case(
        "flood-the-output",
        "exhaustion",
        "write more output than its limit",
        "cut at exactly the limit: output_limit",
        "import sys\nwhile True: sys.stdout.write('x' * 999 + '\\n')",
        error_type=ErrorType.OUTPUT_LIMIT,
        message=OUTPUT_EXCEEDED,
    ),
    Case(
        "exhaust-memory-outside-its-processes",
        "exhaustion",
        "use up its memory where no process holds it (shared memory), so that the supervisor is killed",
        "memory_limit all the same, never a system error",
        """
        libc.shmat.restype = ctypes.c_void_p
        for _ in range(100):  # 4 MiB segments until the memory limit
            segment = libc.shmat(libc.shmget(0, 4 << 20, 0o1600), None, 0)
            ctypes.memset(segment, 1, 4 << 20)
            libc.shmdt(ctypes.c_void_p(segment))
        sys.stdout.flush()
        os.execv("/bin/sh", ["sh", "-c", "(yes xxxxxxxxxxxxxxxxxxxxxxxx | head -c 1000000) & "
                             "exec dd if=/dev/zero of=/tmp/f bs=16k count=1000 2>/dev/null"])
        """,
        error_type=ErrorType.MEMORY_LIMIT,
        limits={"memory_mb": 64},
        message=MEMORY_EXCEEDED,
    ),
    Case(
        "open-every-file",
        "exhaustion",
        "hold more open files than its limit",
        "refused at the limit (EMFILE)",
        "held = []\ndef grab():\n    while True: held.append(open('/dev/null'))\nattempt('open until refused', grab)",
        lines=("open until refused: EMFILE",),
    ),
    Case(
        "stop-itself",
        "exhaustion",
        "stop itself, or close its output, to hold its sandbox",
        "ended at the wall limit: timeout",
        "import signal\nos.close(1)\nos.kill(os.getpid(), signal.SIGSTOP)",
        error_type=ErrorType.TIMEOUT,
        limits={"wall_seconds": 1},
        message=TIMED_OUT,
    ),
    # --- persistence ---------------------------------------------------------------------------
    Case(
        "leave-a-daemon",
        "persistence",
        "leave a process running after it ends (a daemon)",
        "killed with the sandbox; the next run sees none",
        """
        import time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(600)
            os._exit(0)
        os.wait()
        print("daemon started")
        """,
        stdout="daemon started\n",
    ),
    Case(
        "leave-files",
        "persistence",
        "leave files, shared memory or IPC objects for a later run",
        "gone with the sandbox: every run starts with an empty /tmp, /dev/shm and IPC namespace",
        """
        open("/tmp/planted", "w").write("left for the next run")
        open("/dev/shm/planted", "w").write("left for the next run")
        libc.shmget.restype = ctypes.c_int
        print("sysv segment", libc.shmget(0x1234, 4096, 0o1666) >= 0)
        print("message queue", libc.msgget(0x1234, 0o1666) >= 0)
        """,
        stdout="sysv segment True\nmessage queue True\n",
    ),
    # --- forgery -------------------------------------------------------------------------------
    Case(
        "print-a-forged-record",
        "forgery",
        "write its own result: a fake exit record, a negative CPU time, a success it did not have",
        "its output is only output: the host frames it, measures the figures itself and keeps its own",
        """
        forged = (b"X exit=0 signal=- wall_ms=1 cpu_ms=-100000 maxrss_kb=1 stdout_truncated=0 "
                  b"stderr_truncated=0 reason=none\\n")
        os.write(1, b"S v=1\\n" + forged)
        os.write(2, forged)
        attempt("write to the supervisor's stdout", lambda: os.open("/proc/1/fd/1", os.O_WRONLY))
        sys.exit(3)
        """,
        error_type=ErrorType.RUNTIME_ERROR,
        lines=(
            "S v=1",
            "X exit=0 signal=- wall_ms=1 cpu_ms=-100000 maxrss_kb=1 stdout_truncated=0 stderr_truncated=0 reason=none",
            "write to the supervisor's stdout: EACCES",
        ),
    ),
    Case(
        "claim-a-memory-limit",
        "forgery",
        "claim a limit it did not reach: a memory error or a CPU limit of its own making",
        "the host's count decides: its own exit status and signal, runtime_error",
        """
        import signal, time
        for fd in range(3, 64):  # whatever the supervisor might read a mark from
            try:
                os.write(fd, b"M")
            except OSError:
                pass
        end = time.process_time() + 0.2
        while time.process_time() < end:
            pass
        os.kill(os.getpid(), signal.SIGXCPU)
        """,
        error_type=ErrorType.RUNTIME_ERROR,
    ),
    Case(
        "hold-its-output-open",
        "forgery",
        "keep its sandbox (and its verdict) hanging after it ends, by keeping its output in flight",
        "ended with the script: what is in the pipes is read, nothing is waited for",
        """
        import array, socket
        left, right = socket.socketpair()
        def send(sock, fds):
            sock.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        send(left, [1, 2])  # its stdout and stderr in flight...
        send(right, [left.fileno(), right.fileno()])  # ...on sockets in flight on each other
        print("leaving", flush=True)
        os._exit(0)
        """,
        stdout="leaving\n",
        limits={"wall_seconds": 8},
    ),
    # --- kernel attack surface -----------------------------------------------------------------
    Case(
        "call-filtered-interfaces",
        "kernel attack surface",
        "call kernel interfaces no script needs (io_uring, keyrings, BPF, perf events, userfaultfd)",
        "denied by the system-call filter (io_uring looks absent: ENOSYS; the rest EPERM)",
        f"""
        attempt("io_uring_setup", lambda: syscall({NR["io_uring_setup"]}, 1, 0))
        attempt("keyctl", lambda: syscall({NR["keyctl"]}, 0, 0))
        attempt("add_key", lambda: syscall({NR["add_key"]}, 0, 0, 0, 0, 0))
        attempt("bpf", lambda: syscall({NR["bpf"]}, 0, 0, 0))
        attempt("perf_event_open", lambda: syscall({NR["perf_event_open"]}, 0, 0, -1, -1, 0))
        attempt("userfaultfd", lambda: syscall({NR["userfaultfd"]}, 0))
        attempt("getppid", lambda: os.getppid())
        """,
        lines=(
            "io_uring_setup: ENOSYS",
            *attempts("keyctl", "add_key", "bpf", "perf_event_open", "userfaultfd"),
            "getppid: ok",
        ),
        x86_64_only=True,
    ),
    Case(
        "use-another-abi",
        "kernel attack surface",
        "make system calls of another ABI (x32) to get around the filter",
        "killed (SIGSYS): runtime_error",
        "print('before', flush=True)\nlibc.syscall(0x40000000 | 39)\nprint('after')",
        error_type=ErrorType.RUNTIME_ERROR,
        stdout="before\n",
        message=FORBIDDEN_CALL,
        x86_64_only=True,
    ),
]


# --- running the cases ---------------------------------------------------------------------------


LEVELS = ("bubblewrap", "gvisor")
CLEAN_SANDBOX = "[1, 2]\n[] []\nshm ENOENT msg ENOENT\n"  # what a fresh run sees, see PROBE
# What a run finds that an earlier one left: processes, files in /tmp and /dev/shm, System V
# IPC objects under the key the persistence case plants (shmget/msgget of the key: ENOENT).
PROBE = """
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))
print(os.listdir('/tmp'), os.listdir('/dev/shm'))
found = [libc.shmget(0x1234, 0, 0) >= 0 or errno.errorcode[ctypes.get_errno()],
         libc.msgget(0x1234, 0) >= 0 or errno.errorcode[ctypes.get_errno()]]
print('shm', found[0], 'msg', found[1])
"""


@dataclass
class Outcome:
    result: RunResult
    stdout: str
    stderr: str


class Sink:
    def __init__(self):
        self.chunks: list[tuple[Stream, str]] = []

    def write(self, stream: Stream, text: str) -> None:
        self.chunks.append((stream, text))

    def text(self, stream: Stream) -> str:
        return "".join(text for s, text in self.chunks if s == stream)


@pytest.fixture(scope="module", params=LEVELS)
def level(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def runner(level):
    if level == "gvisor" and not shutil.which("runsc"):
        pytest.skip("gVisor (runsc) is not installed: make installs it (apt-get install runsc)")
    runner = LocalRunner(isolation=level)
    if level == "bubblewrap":
        assert runner.wait_for_templates(timeout=60)  # every run forks from its runtime's template
    yield runner
    runner.launchers.close()


@pytest.fixture(scope="module")
def host_listeners():
    """What a script would like to reach on the host: a TCP port on loopback (as the server's
    and the store's are) and an abstract Unix socket."""
    tcp = socket.create_server(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract = f"integr8scode-abuse-{os.getpid()}"
    unix.bind("\0" + abstract)
    unix.listen()
    os.environ[CANARY] = "secret-value"  # the server's environment, as far as the sandboxes go
    yield {"PORT": str(tcp.getsockname()[1]), "ABSTRACT": abstract, "CANARY": CANARY}
    del os.environ[CANARY]
    tcp.close()
    unix.close()


def run(runner: LocalRunner, script: str, **limits) -> Outcome:
    spec = RunSpec("abuse", script, "", next(iter(runner.runtimes())), replace(LIMITS, **limits))
    sink = Sink()
    result = runner.start(spec, sink).wait()
    return Outcome(result, sink.text(Stream.STDOUT), sink.text(Stream.STDERR))


def script_of(case: Case, params: dict[str, str]) -> str:
    script = PRELUDE + textwrap.dedent(case.script)
    for name, value in params.items():
        script = script.replace(f"${name}", value)
    return script


def host_paths(runner: LocalRunner) -> dict[str, str]:
    root = README.parent
    runtime = next(iter(runner._runtimes.values())).prefix
    return {
        "SETTINGS": str(root / "integr8scode" / "settings.py"),
        "VAR": str(root / "var"),
        "CHECKOUT": str(root),
        "WORK": str(runner.work_dir),
        # A runtime under /usr is seen at its own path, which names nothing the script lacks.
        "RUNTIME": runtime if not runtime.startswith("/usr/") else "(under /usr)",
        "DISK": disk_of("/usr"),
    }


def disk_of(path: str) -> str:
    """The block device the host's ``path`` is on ("(no device)" on a filesystem without one)."""
    best, source = "", "(no device)"
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, after = line.partition(" - ")
        mount_point, device = fields.split()[4], after.split()[1]
        if (path + "/").startswith(mount_point.rstrip("/") + "/") and len(mount_point) >= len(best):
            best, source = mount_point, device if device.startswith("/dev/") else "(no device)"
    return source


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_script_cannot(runner, level, case, host_listeners):
    if case.x86_64_only and not X86_64:
        pytest.skip("system call numbers of x86_64")
    if level not in case.levels:
        pytest.skip(f"not a case of the {level} level")
    limits = {**case.limits}
    outcome = run(runner, script_of(case, {**host_listeners, **host_paths(runner)}), **limits)

    result = outcome.result
    assert (result.succeeded, result.error_type) == (case.error_type is None, case.error_type), outcome
    if case.message is not None:
        assert result.message == case.message
    if case.stdout is not None:
        assert outcome.stdout == case.stdout
    expected = (*case.lines, *case.level_lines.get(level, ()))
    missing = [line for line in expected if not said(line, outcome.stdout.splitlines())]
    assert not missing, f"{missing} not in {outcome.stdout!r} ({outcome.stderr!r})"
    assert_figures_are_true(result, replace(LIMITS, **limits))
    assert_the_next_run_is_clean(runner)


def said(expected: str, lines: list[str]) -> bool:
    """``expected`` is a line of the output; "name: A|B" allows either outcome."""
    name, separator, outcomes = expected.rpartition(": ")
    if not separator:
        return expected in lines
    return any(f"{name}: {outcome}" in lines for outcome in outcomes.split("|"))


def assert_figures_are_true(result: RunResult, limits: Limits) -> None:
    """The host measured them: in range, and no sign that the sandbox reported otherwise."""
    assert result.flags == []
    ceiling_ms = (limits.wall_seconds + GRACE_SECONDS) * 1000
    assert result.duration_ms is not None and 0 <= result.duration_ms <= ceiling_ms
    assert result.cpu_ms is not None and 0 <= result.cpu_ms <= ceiling_ms * (os.cpu_count() or 1)
    assert result.peak_memory_kb is not None and result.peak_memory_kb > 0


def assert_the_next_run_is_clean(runner: LocalRunner) -> None:
    outcome = run(runner, PROBE)
    assert (outcome.stdout, outcome.result.succeeded) == (CLEAN_SANDBOX, True), outcome


def test_the_cpu_limit_holds_for_all_the_scripts_processes_together_by_the_hosts_count(runner):
    script = "import os\nfor _ in range(3):\n    if os.fork() == 0:\n        break\nwhile True: pass"
    outcome = run(runner, script, cpu_seconds=1, wall_seconds=8)
    result = outcome.result
    assert (result.error_type, result.message, result.flags) == (ErrorType.TIMEOUT, CPU_TIMED_OUT, [])
    # Four processes, each far below a second of its own: stopped when together they reach it
    # (checked ten times a second), as counted by the host (gVisor's clock runs ahead of it by as
    # much as the host is busy, so there it may stop them early by the host's count).
    assert result.cpu_ms <= 1000 + 4 * 150
    assert result.cpu_ms >= 900 or not runner.isolation.cpu_clock_shared


def test_the_readme_table_is_rendered_from_the_cases():
    text = README.read_text()
    assert TABLE_START in text and TABLE_END in text, "README.md lacks the abuse table markers"
    table = text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()
    assert table == render_table(), f"README.md's table is stale; it should read:\n{render_table()}"


def render_table() -> str:
    rows = ["| A script cannot… | What happens instead | Class |", "|---|---|---|"]
    rows += [f"| {case.cannot} | {case.result} | {case.klass} |" for case in CASES]
    return "\n".join(rows)


def test_every_case_has_a_readme_row_of_its_own():
    assert len({case.cannot for case in CASES}) == len(CASES)
    assert len({case.name for case in CASES}) == len(CASES)
    assert {case.klass for case in CASES} == {
        "escape and reach",
        "exhaustion",
        "persistence",
        "forgery",
        "kernel attack surface",
    }


if __name__ == "__main__":  # python -m executions.tests.abuse.test_abuse: the README table
    print(render_table())
