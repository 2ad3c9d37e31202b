"""The sandbox entry: runs as PID 1 inside a sandbox, starts the user's script, reports back.

Started as ``python -I -S entry.py key=value ...``, or with its bytecode (``entry.pyc``); see
``parse_args`` for the keys. It forks a child that runs the script *in this already started
interpreter*, relays the child's stdout and stderr as framed records on its own stdout,
enforces the wall-clock and output limits, reaps every process, and ends with one exit
record. The records are one ASCII line each, so the same stream survives a Kubernetes pod
log::

    S v=1                      the interpreter is up (start latency ends here)
    O <base64>                 a chunk of the script's stdout
    E <base64>                 a chunk of the script's stderr
    F <base64 name> <base64>   a chunk of a file the run left in its working directory
    T                          some files were over the caps and are left out
    U <b64 type> <b64 msg> <n> the uncaught exception that ended the script, and its line
    C exit=0 signal=- reason=none   how its build ended (compiled languages, ``build=``)
    X exit=0 signal=- ...      how it ended (see ``exit_record``)

For a compiled language the entry first builds the program (``build=``, the compiler's
command, with limits of its own: ``build_wall`` ...), relaying the compiler's output as E
records, and says how the build ended with a C record. A failed build ends there, with the
build's exit record. After a good one it waits, with ``build_wait=1``, for the host's ``go``
line on fd 0 (the host lowers the sandbox's memory bound to the program's first), then runs
the program's command (``run=``) in place of a script in this interpreter; so do
interpreted languages other than Python.

The F and T records come only where the runner cannot read the working directory itself
(``collect=``, a pod's): then the entry first places the given files there (``given=``).

Only builtin modules (``posix`` rather than ``os``, ``_signal`` rather than ``signal``) and a
few small C extensions are imported, all before the fork (so neither process loads one again
after it): this file's start-up time is paid by every run.

The script must not be able to reach this process (it would write its own exit record), so
before the fork it makes itself non-dumpable (no ptrace, no ``/proc/1/{mem,fd,environ}``, no
``process_vm_*``, ``pidfd_getfd`` or ``kcmp`` for a process of the same uid), leaves SIGINT at
its default (which the kernel never delivers to PID 1 from inside its namespace), and, when
told to, installs a system-call filter (``filter=``, for runners that cannot apply one from
outside) and runs the script as another uid (``user=``, where the sandbox maps one). Being PID
1 of its PID namespace, it cannot be killed by the script, and when it exits the kernel kills
whatever the script left behind. It exits with the script's status (its exit code, or 128 +
the signal that ended it), so that the host can check the exit record against what it waits for.
"""

import _ctypes
import _signal
import binascii
import posix
import resource
import select
import sys
import time

CHUNK_BYTES = 6 * 1024  # base64 turns this into 8 KiB, well under log line limits
REAP_INTERVAL = 0.5  # orphans that exit are reaped at least this often
CPU_CHECK_INTERVAL = 0.1  # the CPU time of all the script's processes is added up this often
CLOCK_TICKS = posix.sysconf("SC_CLK_TCK")
DEFAULTS = {
    "script": "/sandbox/main.py",
    "stdin": "/dev/null",  # a file, or "-": what follows the settings line on fd 0, relayed as it comes
    "wall": "10",
    "cpu": "10",
    "memory": "0",  # RLIMIT_AS in bytes, 0 = leave as is
    "nproc": "0",
    "fsize": "0",
    "nofile": "256",
    "output": str(1024 * 1024),  # per stream
    "filter": "",  # a seccomp BPF program (struct sock_filter[]) to install before the fork
    "user": "",  # a uid (and gid) for the script, other than the supervisor's
    # Whether a MemoryError in the script counts as the memory limit: only where the host cannot
    # measure memory itself (the script could say so at will).
    "memory_mark": "0",
    "packages": "",  # a site-packages directory the runtime offers (its .pth files run, as site.py does)
    # Modules to import before the start record, while the sandbox waits for a run (the data
    # runtime's warm-up): the script finds them imported. Comma-separated.
    "preload": "",
    # A list of the files to place in the working directory before the script starts: one line
    # each, "<base64 name> <its content's file, beside the list>" (a runner that cannot write
    # them there itself).
    "given": "",
    # "count,total_bytes,file_bytes": report what the run left in its working directory (the
    # entry's own) as F records, within these caps (a runner that cannot read it itself).
    "collect": "",
    # "1": be a template (see serve_forks): stay warm, and fork each run into namespaces of its
    # own; the filter= program is then installed by each run, after its namespaces are made.
    "template": "",
    # Other languages (see executions/runners/languages.py): argv, NUL-separated and base64,
    # of the program (exec'd instead of a script run in this interpreter) and of its build,
    # the build's limits, and NAME=value pairs (same form) added to the environment of both.
    "run": "",
    "build": "",
    "build_wall": "30",
    "build_cpu": "30",
    "build_memory": "0",
    "build_output": str(64 * 1024),
    "build_wait": "",
    "build_dir": "",  # made (for the script's uid) before the build: where it writes
    # "1": build and end there (exit 0 after a good build's C record): the program runs in
    # another container of the same pod (Kubernetes: the build is its init container).
    "build_only": "",
    "env": "",
    # A directory: the settings line's "put.<name>=<base64>" pairs are written there as files
    # before anything else (a runner that delivers the run over fd 0: a warm pod). Such a line
    # ends with "sealed=1", or it was cut short and nothing runs.
    "unpack": "",
}
SIGNALS_PENDING = 1024  # queued signals per run (the kernel counts them per uid, and per user namespace)
# An F record stays under the host's longest line (64 KiB) with the longest name (1 KiB, in
# base64): 45 KiB in base64 is 60 KiB. (48 KiB made exactly 64 KiB, and the name went beyond.)
FILE_CHUNK_BYTES = 45 * 1024
MAX_DEPTH = 16
SIGKILL, SIGXCPU, SIGINT = _signal.SIGKILL, _signal.SIGXCPU, _signal.SIGINT
MEMORY_ERROR_MARK = b"M"
STATUS_BYTES = 8192
PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 4, 38, 22, 2


def parse_args(argv, args=None):
    """``key=value`` arguments over ``args`` (or the defaults); ``settings=-`` means more of
    them come later, one whitespace-separated line on standard input (see ``read_settings``)."""
    args = dict(DEFAULTS) if args is None else args
    for arg in argv:
        key, _, value = arg.partition("=")
        args[key] = value
    return args


def read_settings(args):
    """The runners start a sandbox before they know the run; the entry waits for it here.
    Returns what came after the settings line: the start of an interactive run's input."""
    rest = b""
    if args.pop("settings", "") == "-":
        line, rest = read_line_from_stdin()
        parse_args(line.decode().split(), args)
        if args["unpack"]:
            write_run_files(args)
    if args["stdin"] != "-" and args["build_wait"] != "1":
        close_settings_pipe()
        rest = b""
    return rest


def write_run_files(args):
    """Write the run's files (its script, stdin, given files) that came in the settings line."""
    if args.pop("sealed", "") != "1":
        posix._exit(125)  # the runner's line was cut short: it is gone or gave up
    for key in [key for key in args if key.startswith("put.")]:
        name = key[4:]
        if not name or "/" in name or name[0] == ".":
            posix._exit(125)
        flags = posix.O_WRONLY | posix.O_CREAT | posix.O_EXCL | posix.O_CLOEXEC
        fd = posix.open(args["unpack"] + "/" + name, flags, 0o444)
        write_all(fd, binascii.a2b_base64(args.pop(key)))
        posix.close(fd)


def close_settings_pipe():
    """fd 0 carried only the settings (and the go line): now it is /dev/null."""
    posix.close(0)
    posix.open("/dev/null", posix.O_RDONLY)  # the lowest free descriptor: 0 again


def read_line_from_stdin():
    """One line from fd 0, and whatever was read after it (an interactive run's input)."""
    chunks = []
    while chunk := posix.read(0, 65536):  # a warm pod's line carries the run's files: up to ~1.4 MB
        chunks.append(chunk)
        if b"\n" in chunk:
            break
    line, _, rest = b"".join(chunks).partition(b"\n")
    return line, rest


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[posix.write(fd, view) :]


# --- the walls between the script and the supervisor --------------------------------------


class _Int(_ctypes._SimpleCData):
    _type_ = "i"


class _ULong(_ctypes._SimpleCData):
    _type_ = "L"


class _CFunction(_ctypes.CFuncPtr):
    _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
    _restype_ = _Int


class _Process:
    _handle = _ctypes.dlopen(None)  # this interpreter, and the C library it is linked with


def _libc(name, restype, *argtypes):
    """A function of the C library the interpreter is linked with (errno kept for OSError)."""
    function = type(name, (_CFunction,), {"_restype_": restype, "_flags_": _CFunction._flags_})((name, _Process))
    function.argtypes = argtypes
    return function


_prctl = _libc("prctl", _Int, _Int, _ULong, _ULong, _ULong, _ULong)


def prctl(option, arg=0, arg2=0):
    if _prctl(option, arg, arg2, 0, 0) != 0:
        raise OSError(_ctypes.get_errno(), f"prctl({option}) failed")


def harden_supervisor(args):
    """Before the fork: what the child inherits and then undoes for itself (no race)."""
    prctl(PR_SET_DUMPABLE, 0)
    _signal.signal(SIGINT, _signal.SIG_DFL)
    if args["filter"] and not args["template"]:
        install_filter(args["filter"])


def install_filter(path):
    with open(path, "rb") as file:
        program = file.read()
    if not program or len(program) % 8:
        raise OSError("the system-call filter is not a BPF program")
    instructions = _buffer(program)
    # struct sock_fprog: the number of instructions, padding, then a pointer to them.
    fprog = _buffer(
        (len(program) // 8).to_bytes(8, sys.byteorder) + _ctypes.addressof(instructions).to_bytes(8, sys.byteorder)
    )
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, _ctypes.addressof(fprog))


class _Char(_ctypes._SimpleCData):
    _type_ = "c"


def _buffer(data):
    array = type("Bytes", (_ctypes.Array,), {"_type_": _Char, "_length_": len(data)})
    return array.from_buffer_copy(data)


def become_script(args):
    """In the child: dumpable again (its own processes may inspect each other), SIGINT raises
    KeyboardInterrupt as usual, and the script's own uid where there is one."""
    prctl(PR_SET_DUMPABLE, 1)
    _signal.signal(SIGINT, _signal.default_int_handler)
    # The host may have made the supervisor the out-of-memory killer's last choice; the script
    # goes back to an ordinary one (raising it needs no privilege).
    try:
        fd = posix.open("/proc/self/oom_score_adj", posix.O_WRONLY)
        posix.write(fd, b"0")
        posix.close(fd)
    except OSError:
        pass
    if args["user"]:
        uid = int(args["user"])
        posix.setgroups([])
        posix.setresgid(uid, uid, uid)
        posix.setresuid(uid, uid, uid)  # from uid 0 this also drops every capability


# --- the child: becomes the user's script ------------------------------------------------


def run_child(args, in_r, out_w, err_w, status_w):
    become_script(args)  # first: the script's files are for the script's uid
    for name, data in read_given(args["given"]).items():
        place_file(name, data)
    stdin_fd = in_r if in_r >= 0 else posix.open(args["stdin"], posix.O_RDONLY)
    posix.dup2(stdin_fd, 0)
    posix.dup2(out_w, 1)
    posix.dup2(err_w, 2)
    for fd in (stdin_fd, out_w, err_w):
        posix.close(fd)
    set_rlimits(args)
    if args["run"]:
        exec_command(args["run"], args["env"])
    sys.dont_write_bytecode = True
    if not args["preload"]:
        load_packages(args)
    # A pipe is block buffered; line buffering makes output appear live, like a terminal.
    sys.stdout.reconfigure(line_buffering=True)
    code = run_script(args["script"], status_w)
    posix._exit(finalize(code, status_w))


def unpack(value):
    """A list given as base64 of NUL-separated strings (``run=``, ``build=``, ``env=``)."""
    return [part for part in binascii.a2b_base64(value).split(b"\0") if part] if value else []


def exec_command(command, env):
    """Become the program (an execve: what follows never runs), with the sandbox's
    environment and the language's own additions."""
    environment = dict(posix.environ)
    for pair in unpack(env):
        name, _, value = pair.partition(b"=")
        environment[name] = value
    argv = unpack(command)
    posix.execve(argv[0], argv, environment)


def build(args):
    """Build the program (the compiler as the script's uid, in its own session, with the
    build's limits), its output relayed as E records; then the C record. Returns whether it
    built."""
    limits = dict(args)
    limits.update(
        wall=args["build_wall"], cpu=args["build_cpu"], memory=args["build_memory"], output=args["build_output"]
    )
    limits.update(memory_mark="0", collect="", fsize="0")  # the scratch space bounds what a build writes
    out_r, out_w = posix.pipe()
    status_r, status_w = posix.pipe2(posix.O_CLOEXEC)
    child = posix.fork()
    if child == 0:
        posix.setsid()
        try:
            posix.close(out_r)
            become_script(limits)
            if args["build_dir"]:
                posix.mkdir(args["build_dir"], 0o700)
            null = posix.open("/dev/null", posix.O_RDONLY)
            posix.dup2(null, 0)
            posix.dup2(out_w, 1)
            posix.dup2(out_w, 2)
            posix.close(null)
            posix.close(out_w)
            set_rlimits(limits)
            exec_command(args["build"], args["env"])
        except BaseException as exc:
            posix.write(2, f"The compiler could not be started: {exc!r}\n".encode())
        finally:
            posix._exit(127)
    posix.close(out_w)
    posix.close(status_w)
    quiet_r, quiet_w = posix.pipe()  # the compiler's stdout and stderr are one stream: E records
    posix.close(quiet_w)
    posix.set_blocking(status_r, False)
    supervisor = Supervisor(limits, child, quiet_r, out_r, status_r)
    ended = supervisor.follow()
    status = supervisor.child_status
    built = supervisor.reason == "none" and status is not None and posix.WIFEXITED(status)
    built = built and posix.WEXITSTATUS(status) == 0
    write_all(1, supervisor.compile_record())
    if not built:
        write_all(1, supervisor.exit_record(ended))
        posix._exit(supervisor.exit_status() or 1)
    posix.close(status_r)


def wait_for_go(rest):
    """The host's go line, after a build (it has lowered the memory bound by then); returns
    what followed it (an interactive run's first input)."""
    while b"\n" not in rest:
        chunk = posix.read(0, 4096)
        if not chunk:
            posix._exit(125)  # the host is gone
        rest += chunk
    line, _, rest = rest.partition(b"\n")
    if line != b"go":
        posix._exit(125)
    return rest


def load_packages(args):
    """The runtime's packages on the path, their .pth hooks run, and what it preloads imported:
    in the supervisor before the start record where it preloads (the script inherits it all),
    else in the script's process before the script."""
    if args["packages"]:
        import site  # with -S, importing it adds nothing by itself

        site.addsitedir(args["packages"])
    for module in filter(None, args["preload"].split(",")):
        __import__(module)


def read_given(manifest):
    """The given files, name -> bytes, from the list the runner made (``given=``)."""
    given = {}
    if not manifest:
        return given
    with open(manifest, "rb") as file:
        lines = file.read().splitlines()
    beside = manifest.rpartition("/")[0] or "."
    for line in lines:
        encoded, _, source = line.partition(b" ")
        with open(beside + "/" + source.decode(), "rb") as file:
            given[binascii.a2b_base64(encoded).decode()] = file.read()
    return given


def place_file(name, data):
    parts = name.split("/")
    for depth in range(1, len(parts)):
        try:
            posix.mkdir("/".join(parts[:depth]), 0o755)
        except FileExistsError:
            pass
    fd = posix.open(name, posix.O_WRONLY | posix.O_CREAT | posix.O_EXCL | posix.O_NOFOLLOW | posix.O_CLOEXEC, 0o644)
    try:
        write_all(fd, data)
    finally:
        posix.close(fd)


def report_files(args):
    """After every process of the run is gone: the regular files under the working directory
    that the run made or changed, in name order, as F records within the caps (T when some are
    left out). No link is followed; the host checks names and caps again."""
    count, total, per_file = (int(cap) for cap in args["collect"].split(","))
    given = read_given(args["given"])
    sent = sent_bytes = 0
    left_out = False
    for name, path, size in regular_files(".", "", 0):
        if name is None:
            left_out = True
            continue
        data = read_file(path, size) if name in given and size == len(given[name]) else None
        if data is not None and data == given[name]:
            continue
        if size > per_file or sent_bytes + size > total or sent >= count:
            left_out = True
            continue
        data = data if data is not None else read_file(path, size)
        if data is None:
            continue
        sent, sent_bytes = sent + 1, sent_bytes + len(data)
        encoded = binascii.b2a_base64(name.encode(), newline=False)
        for start in range(0, max(len(data), 1), FILE_CHUNK_BYTES):
            write_all(1, b"F " + encoded + b" " + binascii.b2a_base64(data[start : start + FILE_CHUNK_BYTES]))
    if left_out:
        write_all(1, b"T\n")


def regular_files(directory, prefix, depth):
    """(name, path, size) of every regular file below ``directory``, sorted by name; (None, ...)
    for what cannot be named (not UTF-8, or too deep)."""
    try:
        entries = sorted(posix.listdir(directory))
    except OSError:
        return
    for entry in entries:
        path = directory + "/" + entry
        try:
            info = posix.lstat(path)
            name = prefix + entry
            name.encode()
        except (OSError, UnicodeEncodeError):
            yield None, path, 0
            continue
        kind = info.st_mode & 0o170000
        if kind == 0o100000:
            yield name, path, info.st_size
        elif kind == 0o040000:
            if depth + 1 >= MAX_DEPTH:
                yield None, path, 0
            else:
                yield from regular_files(path, name + "/", depth + 1)


def read_file(path, size):
    try:
        fd = posix.open(path, posix.O_RDONLY | posix.O_NOFOLLOW | posix.O_NONBLOCK | posix.O_CLOEXEC)
    except OSError:
        return None
    try:
        chunks, left = [], size
        while left > 0:
            chunk = posix.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        posix.close(fd)


def set_rlimits(args):
    cpu = int(args["cpu"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU first, SIGKILL after
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        resource.setrlimit(resource.RLIMIT_SIGPENDING, (SIGNALS_PENDING, SIGNALS_PENDING))
    except (OSError, ValueError):
        pass  # gVisor's kernel keeps its own count, per sandbox
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(args["nofile"]),) * 2)
    for name, key in (("RLIMIT_AS", "memory"), ("RLIMIT_NPROC", "nproc"), ("RLIMIT_FSIZE", "fsize")):
        if int(args[key]) > 0:
            resource.setrlimit(getattr(resource, name), (int(args[key]),) * 2)


def warm_interpreter():
    """Ahead of the run (while the sandbox waits, or once in a template): what the script's
    process would otherwise set up at its first use, the compiler's state (about 2 ms the first
    time a process compiles anything), the module behind exit() and help(), and atexit (which
    the script's shutdown imports)."""
    compile("def warm(up):\n    return f'{up}'\n", "<warm-up>", "exec")
    import _sitebuiltins  # noqa: F401
    import atexit  # noqa: F401


def install_site_builtins():
    # What site.py would have added; -S skips it to save start-up time.
    import _sitebuiltins
    import builtins

    builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")
    builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")
    builtins.help = _sitebuiltins._Helper()
    # copyright, credits and license are left out: _Printer imports os, which costs ~2 ms.


def main_module(path):
    module = type(sys)("__main__")
    loader = sys.modules["_frozen_importlib_external"].SourceFileLoader("__main__", path)
    module.__dict__.update(__file__=path, __cached__=None, __loader__=loader, __builtins__=__builtins__)
    sys.modules["__main__"] = module
    sys.argv[:] = [path]
    sys.path.insert(0, path.rpartition("/")[0] or "/")
    return module


def run_script(path, status_w):
    """Run the script like ``python path`` would; return the process exit code."""
    try:
        install_site_builtins()
        with open(path, "rb") as file:
            source = file.read()
        namespace = main_module(path).__dict__
        exec(compile(source, path, "exec"), namespace)
        return 0
    except SystemExit as exc:
        return system_exit_code(exc)
    except BaseException as exc:
        return report_uncaught(exc, status_w)


def system_exit_code(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def report_uncaught(exc, status_w):
    if isinstance(exc, MemoryError) and status_w >= 0:
        posix.write(status_w, MEMORY_ERROR_MARK)
    if status_w >= 0:
        try:
            posix.write(status_w, uncaught_line(exc))
        except BaseException:
            pass  # str() of the exception raised, or the pipe is full: no summary, the traceback stays
    tb = exc.__traceback__
    # This file's frames, by the name compiled into them (the local runner runs its bytecode).
    while tb is not None and tb.tb_frame.f_code.co_filename == report_uncaught.__code__.co_filename:
        tb = tb.tb_next  # the user should see only their own frames
    try:
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
    except BaseException:
        pass
    if isinstance(exc, KeyboardInterrupt):
        return -SIGINT
    return 1


def uncaught_line(exc):
    """``U <base64 type> <base64 message> <line>``: the exception that ended the script, and the
    line of the script it came from (``-`` when none: raised in a module it imported)."""
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    script = sys.argv[0] if sys.argv else ""
    line = None
    if isinstance(exc, SyntaxError) and exc.filename == script:
        line = exc.lineno
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == script:
            line = tb.tb_lineno
        tb = tb.tb_next
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    fields = [
        binascii.b2a_base64(text[:limit].encode(errors="replace"), newline=False)
        for text, limit in ((name, 200), (message, 1000))
    ]
    return b"U " + b" ".join(fields) + b" " + (b"-" if line is None else str(line).encode()) + b"\n"


def finalize(code, status_w):
    """Interpreter shutdown as CPython does it: join threads, run atexit, flush."""
    threading = sys.modules.get("threading")
    try:
        if threading is not None:
            threading._shutdown()
        import atexit

        atexit._run_exitfuncs()
    except SystemExit as exc:
        code = system_exit_code(exc)
    except BaseException as exc:
        code = report_uncaught(exc, status_w)
    code = flush_std_streams(code)
    if code == -SIGINT:
        _signal.signal(SIGINT, _signal.SIG_DFL)
        posix.kill(posix.getpid(), SIGINT)
    return code


def flush_std_streams(code):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            code = 120  # what CPython exits with when stdout cannot be flushed
    return code


# --- the parent (PID 1): relays, limits, reaps, reports -----------------------------------


def process_cpu(pid):
    """utime + stime + cutime + cstime of a running process, in seconds (0 when it is gone)."""
    try:
        fd = posix.open(f"/proc/{pid}/stat", posix.O_RDONLY)
    except OSError:
        return 0.0
    try:
        fields = posix.read(fd, 4096).rpartition(b")")[2].split()
    except OSError:  # ESRCH: it was reaped between the open and the read
        return 0.0
    finally:
        posix.close(fd)
    try:
        return sum(int(field) for field in fields[11:15]) / CLOCK_TICKS
    except ValueError:
        return 0.0


def child_exit_fd(child):
    """A descriptor that becomes readable when the child exits: its pidfd, or where the kernel
    has no pidfd_open (gVisor's), a pipe that every SIGCHLD writes to."""
    try:
        return posix.pidfd_open(child), True
    except OSError:
        pass
    read_end, write_end = posix.pipe2(posix.O_NONBLOCK | posix.O_CLOEXEC)
    _signal.signal(_signal.SIGCHLD, lambda *_: None)  # with a handler, the signal writes to the pipe
    _signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    posix.write(write_end, b"\0")  # the child may have exited before the handler was there
    return read_end, False


def drain_wakeups(fd):
    try:
        while posix.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


class InputRelay:
    """An interactive run's stdin: what the host writes to the supervisor's fd 0, passed on to
    the script's stdin pipe as it comes (never blocking the supervisor), then end of file. The
    host caps how much it sends; a script that reads none of it only leaves it here."""

    def __init__(self, poller, source, sink, pending):
        self.poller, self.source, self.sink, self.pending = poller, source, sink, bytearray(pending)
        posix.set_blocking(sink, False)
        poller.register(source, select.POLLIN)
        self.ended = False  # the host closed its end
        self.flush()

    def handles(self, fd):
        return fd in (self.source, self.sink)

    def on_ready(self, fd):
        if fd == self.source:
            data = posix.read(self.source, 65536)
            if not data:
                self.poller.unregister(self.source)
                posix.close(self.source)
                self.source, self.ended = -1, True
            if self.sink >= 0:
                self.pending += data
        self.flush()

    def flush(self):
        """Write what is pending; wait for room (POLLOUT) only while some is left."""
        if self.sink < 0:
            return
        try:
            while self.pending:
                del self.pending[: posix.write(self.sink, self.pending)]
        except BlockingIOError:
            pass
        except OSError:  # the script closed its stdin, or is gone: nothing more reaches it
            self.pending.clear()
            self.ended = True
        try:
            self.poller.unregister(self.sink)
        except KeyError:
            pass
        if self.pending:
            self.poller.register(self.sink, select.POLLOUT)
        elif self.ended:
            posix.close(self.sink)  # the script reads end of file
            self.sink = -1


class Supervisor:
    def __init__(self, args, child, out_r, err_r, status_r, input_relay=None):
        self.args = args
        self.child = child
        self.cpu_limit = int(args["cpu"])
        self.in_own_pid_namespace = posix.getpid() == 1
        self.status_r = status_r
        self.status = b""
        self.stdout, self.stderr = [b"O ", 0, False], [b"E ", 0, False]  # prefix, bytes, truncated
        self.streams = {out_r: self.stdout, err_r: self.stderr}  # the ones still open
        self.cap = int(args["output"])
        self.poller = select.poll()
        self.child_fd, self.child_fd_is_pidfd = child_exit_fd(child)
        for fd in (out_r, err_r, self.child_fd):
            self.poller.register(fd, select.POLLIN)
        self.input = input_relay(self.poller) if input_relay else None
        self.started = time.monotonic()
        self.deadline = self.started + float(args["wall"])
        self.reason = "none"
        self.child_status = None
        self.rusage = []  # (cpu seconds, maxrss KiB) of every reaped process
        self.next_cpu_check = self.started + CPU_CHECK_INTERVAL

    def run(self):
        ended = self.follow()
        if self.reason == "none" and self.child_status is not None:
            write_all(1, self.uncaught_record())
        if self.args["collect"]:
            report_files(self.args)
        write_all(1, self.exit_record(ended))
        return self.exit_status()

    def follow(self):
        """Until the child has ended (or a limit ended it), and every process is gone and its
        output relayed; returns when that was."""
        while self.reason == "none" and self.child_status is None:
            now = time.monotonic()
            if now >= self.deadline:
                self.reason = "timeout"
                break
            if now >= self.next_cpu_check:
                self.check_cpu()
                continue
            self.step(min(self.deadline, self.next_cpu_check) - now)
        self.kill_everything()
        self.reap(block=True)
        self.drain()
        ended = time.monotonic()
        self.read_status()
        self.classify_child()
        return ended

    def step(self, timeout):
        for fd, _ in self.poller.poll(timeout * 1000):
            if fd == self.child_fd and self.child_fd_is_pidfd:
                self.poller.unregister(fd)
            elif fd == self.child_fd:
                drain_wakeups(fd)  # reap() below finds out who exited
            elif self.input is not None and self.input.handles(fd):
                self.input.on_ready(fd)
            else:
                self.relay(fd)
        self.reap(block=False)

    def relay(self, fd):
        data = posix.read(fd, CHUNK_BYTES)
        if not data:
            self.poller.unregister(fd)
            posix.close(fd)
            del self.streams[fd]
            return
        stream = self.streams[fd]
        room = self.cap - stream[1]
        if len(data) > room:
            data, stream[2] = data[:room], True
            self.reason = "output_limit"
        stream[1] += len(data)
        if data:
            write_all(1, stream[0] + binascii.b2a_base64(data))

    def drain(self):
        """Everything that could write is dead and reaped: read what is in the pipes now. Not
        up to their end: a write end the script sent through a Unix socket may stay open for
        as long as the kernel keeps the message (gVisor: for ever)."""
        for fd in list(self.streams):
            posix.set_blocking(fd, False)
            try:
                while fd in self.streams and self.reason != "output_limit":
                    self.relay(fd)
            except BlockingIOError:
                pass

    def check_cpu(self):
        """RLIMIT_CPU counts each process alone; the limit is for all the script's processes."""
        self.next_cpu_check = time.monotonic() + CPU_CHECK_INTERVAL
        if self.cpu_used() >= self.cpu_limit:
            self.reason = "cpu"

    def cpu_used(self):
        """CPU seconds of every process of the script: those reaped here, and the ones running
        (with the children they reaped themselves)."""
        running = range(0)
        if self.in_own_pid_namespace:
            running = [int(name) for name in posix.listdir("/proc") if name.isdigit() and name != "1"]
        elif self.child_status is None:
            running = [self.child]
        return sum(cpu for cpu, _ in self.rusage) + sum(process_cpu(pid) for pid in running)

    def kill_everything(self):
        # As PID 1, kill(-1) reaches exactly the processes of this namespace. Anywhere else it
        # would hit every process of the user, so then only the child's process group goes.
        target = -1 if posix.getpid() == 1 else -self.child
        try:
            posix.kill(target, SIGKILL)
        except ProcessLookupError:
            pass

    def reap(self, *, block):
        while True:
            try:
                pid, status, usage = posix.wait4(-1, 0 if block else posix.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.rusage.append((usage.ru_utime + usage.ru_stime, usage.ru_maxrss))
            if pid == self.child:
                self.child_status = status

    def classify_child(self):
        if self.reason != "none" or self.child_status is None:
            return
        signal = posix.WTERMSIG(self.child_status) if posix.WIFSIGNALED(self.child_status) else 0
        # SIGXCPU comes at the soft CPU limit, SIGKILL at the hard one (a second later); a
        # script can send either to itself, so the CPU time it used has the last word.
        at_limit = sum(cpu for cpu, _ in self.rusage) >= self.cpu_limit * 0.9
        if signal in (SIGXCPU, SIGKILL) and at_limit:
            self.reason = "cpu"
        elif self.args["memory_mark"] == "1" and self.status.startswith(MEMORY_ERROR_MARK):
            self.reason = "memory"

    def read_status(self):
        """What the script's process said of its end on the status pipe (the memory mark, the
        uncaught exception), once it is reaped: whatever is there, within bounds."""
        try:
            self.status = posix.read(self.status_r, STATUS_BYTES)
        except OSError:
            self.status = b""

    def uncaught_record(self):
        """The ``U`` record, rebuilt from the status pipe's line when it is well formed (the
        script could write anything there: it is only the script's own word, as its stderr is)."""
        line = self.status.lstrip(MEMORY_ERROR_MARK).partition(b"\n")[0]
        parts = line.split(b" ")
        if len(parts) != 4 or parts[0] != b"U" or not (parts[3] == b"-" or parts[3].isdigit()):
            return b""
        try:
            name, message = (binascii.a2b_base64(part, strict_mode=True) for part in parts[1:3])
        except binascii.Error:
            return b""
        if len(name) > 800 or len(message) > 4000:  # the 200 and 1000 characters of uncaught_line, in UTF-8
            return b""
        return line + b"\n"

    def compile_record(self):
        status = self.child_status
        exited = status is not None and posix.WIFEXITED(status)
        signaled = status is not None and posix.WIFSIGNALED(status)
        exit_code = posix.WEXITSTATUS(status) if exited else "-"
        signal = posix.WTERMSIG(status) if signaled else "-"
        return f"C exit={exit_code} signal={signal} reason={self.reason}\n".encode()

    def exit_record(self, ended):
        status = self.child_status
        exited = status is not None and posix.WIFEXITED(status)
        signaled = status is not None and posix.WIFSIGNALED(status)
        fields = {
            "exit": posix.WEXITSTATUS(status) if exited else "-",
            "signal": posix.WTERMSIG(status) if signaled else "-",
            "wall_ms": round((ended - self.started) * 1000),
            "cpu_ms": round(sum(cpu for cpu, _ in self.rusage) * 1000),
            "maxrss_kb": max((rss for _, rss in self.rusage), default=0),
            "stdout_truncated": int(self.stdout[2]),
            "stderr_truncated": int(self.stderr[2]),
            "reason": self.reason,
        }
        return ("X " + " ".join(f"{key}={value}" for key, value in fields.items()) + "\n").encode()

    def exit_status(self):
        """The script's status as a shell would give it (see shell_status)."""
        return 255 if self.child_status is None else shell_status(self.child_status)


def shell_status(status):
    """A wait status as a shell gives it: the exit code, or 128 + the signal that ended it."""
    return posix.WEXITSTATUS(status) if posix.WIFEXITED(status) else 128 + posix.WTERMSIG(status)


# --- a template: one warm interpreter, forked into fresh namespaces for each run -----------
#
# The host keeps one template per runtime (runners/local/template.py). It holds no user data:
# it only ever receives, on the socket that is its fd 0, a request with four descriptors (the
# run's scratch filesystem, a detached mount the host made, and the run's settings, stdout and
# stderr pipes). For each it forks a child that waits for the host to move it into the run's
# cgroup ("g" on the settings pipe), enters new user, mount, PID, network, IPC, UTS and cgroup
# namespaces, mounts the scratch space as /sandbox (read-only), /work and /tmp, and forks
# PID 1 of the new PID namespace: a fresh /proc, no more user namespaces, no capabilities, the
# full system-call filter, generators reseeded; then it goes on as an ordinary entry would.
# The child in between waits for it and exits with its status, which the template reports.

CLONE_NEW = 0x20000 | 0x2000000 | 0x4000000 | 0x8000000 | 0x10000000 | 0x20000000 | 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
SYS_MOVE_MOUNT, MOVE_MOUNT_F_EMPTY_PATH, AT_FDCWD = 429, 4, -100  # the same number on every 64-bit arch
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SCM_RIGHTS_FDS = 4  # scratch, settings, stdout, stderr
RUN_MOUNTS = (("work", "/work", 0), ("job", "/sandbox", MS_RDONLY), ("tmp", "/tmp", 0))  # /tmp last
SCRATCH_AT = "/tmp"  # where the whole scratch filesystem goes first, covered by its tmp/ after
GO = b"g"
RUN_USERNS_LIMITS = (
    *((f"max_{kind}_namespaces", b"0") for kind in ("user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time")),
    ("max_inotify_instances", b"8"),  # of 128 per uid
    ("max_inotify_watches", b"8192"),
    ("max_fanotify_groups", b"8"),  # of 128 per uid
    ("max_fanotify_marks", b"8192"),
)
SETUP_FAILED = 126


class _CharP(_ctypes._SimpleCData):
    _type_ = "z"


class _Long(_ctypes._SimpleCData):
    _type_ = "l"


_unshare = _libc("unshare", _Int, _Int)
_mount = _libc("mount", _Int, _CharP, _CharP, _CharP, _ULong, _CharP)
_capset = _libc("capset", _Int, _ULong, _ULong)
_ioctl = _libc("ioctl", _Int, _Int, _ULong, _ULong)
SIOCSIFFLAGS, IFF_UP = 0x8914, 0x1
_syscall = _libc("syscall", _Long, _Long, _Int, _CharP, _Int, _CharP, _Int)


def _check(result, what):
    if result < 0:
        error = _ctypes.get_errno()
        raise OSError(error, f"{what}: {posix.strerror(error)}")


def mount(source, target, kind, flags):
    _check(_mount(source, target.encode(), kind, flags, None), f"mount {target}")


def write_file(path, data):
    fd = posix.open(path, posix.O_WRONLY | posix.O_CLOEXEC)
    try:
        write_all(fd, data)
    finally:
        posix.close(fd)


def serve_forks(args):
    """The template's loop; returns only in a run's new PID 1 (see above)."""
    import _socket

    control = _socket.socket(fileno=0)
    wake_r, wake_w = posix.pipe2(posix.O_NONBLOCK | posix.O_CLOEXEC)
    _signal.signal(_signal.SIGCHLD, lambda *_: None)
    _signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    poller = select.poll()
    poller.register(0, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    forked = set()
    # What the warm modules made stays shared with every fork: a collection in a run must not
    # walk (and so copy) the template's objects.
    import gc

    gc.collect()
    gc.freeze()
    write_all(1, b"S v=1\n")
    while True:
        for fd, _ in poller.poll():
            if fd == wake_r:
                drain_wakeups(wake_r)
                report_exits(control, forked)
                continue
            fds = receive_fds(control)
            if fds is None:
                posix._exit(0)  # the host is gone: PID 1 ending ends every run it forked
            if len(fds) != SCM_RIGHTS_FDS:
                for fd in fds:
                    posix.close(fd)
                continue
            child = posix.fork()
            if child == 0:
                _signal.set_wakeup_fd(-1)
                _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
                for fd in (wake_r, wake_w):
                    posix.close(fd)
                control.close()
                try:
                    become_run(args, fds)
                except BaseException as exc:
                    posix.write(2, f"The sandbox could not be set up: {exc!r}\n".encode())
                    posix._exit(SETUP_FAILED)
                return
            for fd in fds:
                posix.close(fd)
            forked.add(child)
            control.send(b"forked %d" % child)


def receive_fds(control):
    """The descriptors of one request, or None at the end of the stream."""
    import _socket

    message, ancillary, _, _ = control.recvmsg(64, _socket.CMSG_SPACE(8 * SCM_RIGHTS_FDS))
    if not message:
        return None
    fds = []
    for level, kind, data in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += [int.from_bytes(data[i : i + 4], sys.byteorder) for i in range(0, len(data) - len(data) % 4, 4)]
    return fds


def report_exits(control, forked):
    while True:
        try:
            pid, status = posix.waitpid(-1, posix.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in forked:  # else an orphan of a run that ended: PID 1 reaps it, nobody asks
            forked.discard(pid)
            control.send(b"exit %d %d" % (pid, status))


def become_run(args, fds):
    scratch, settings, out, err = fds
    for target, fd in enumerate((settings, out, err)):
        posix.dup2(fd, target)
        posix.close(fd)
    if posix.read(0, 1) != GO:  # the host moves this process into the run's cgroup first
        posix._exit(SETUP_FAILED)
    uid, gid = posix.getuid(), posix.getgid()
    prctl(PR_SET_DUMPABLE, 1)  # its own /proc files, to write its id maps
    _check(_unshare(CLONE_NEW), "unshare")
    write_file("/proc/self/setgroups", b"deny")
    write_file("/proc/self/uid_map", b"%d %d 1" % (uid, uid))
    write_file("/proc/self/gid_map", b"%d %d 1" % (gid, gid))
    prctl(PR_SET_DUMPABLE, 0)
    loopback_up()
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted elsewhere reaches it from now on
    flags = MS_NOSUID | MS_NODEV
    _check(_syscall(SYS_MOVE_MOUNT, scratch, b"", AT_FDCWD, SCRATCH_AT.encode(), MOVE_MOUNT_F_EMPTY_PATH), "move_mount")
    posix.close(scratch)
    for name, target, readonly in RUN_MOUNTS:
        mount(f"{SCRATCH_AT}/{name}".encode(), target, None, MS_BIND | MS_REC)
        mount(None, target, None, MS_REMOUNT | MS_BIND | flags | readonly)
    child = posix.fork()  # PID 1 of the new PID namespace
    if child:
        wait_for_run(child)
    mount(b"proc", "/proc", b"proc", flags | MS_NOEXEC)
    # Every run of a template shares its uid, and the kernel counts some things per uid in the
    # template's user namespace too: each run's share is capped in its own, so that one run
    # cannot use up what the others get. No namespaces of any kind.
    for name, value in RUN_USERNS_LIMITS:
        try:
            write_file(f"/proc/sys/user/{name}", value)
        except FileNotFoundError:
            pass  # an older kernel without that counter
    posix.chdir(RUN_MOUNTS[0][1])
    drop_capabilities()
    reseed()
    if args["filter"]:
        install_filter(args["filter"])


def loopback_up():
    """The new network namespace has only a loopback interface, down: up, as bubblewrap does."""
    import _socket

    probe = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        request = _buffer(b"lo".ljust(16, b"\0") + IFF_UP.to_bytes(2, sys.byteorder) + bytes(22))
        _check(_ioctl(probe.fileno(), SIOCSIFFLAGS, _ctypes.addressof(request)), "bringing up the loopback")
    finally:
        probe.close()


def wait_for_run(child):
    """The process between the template and a run's PID 1: no capabilities, no pipes, and the
    run's status as its own (as bubblewrap gives it: the exit code, or 128 + the signal)."""
    drop_capabilities()
    null = posix.open("/dev/null", posix.O_RDWR)
    for fd in (0, 1, 2):
        posix.dup2(null, fd)
    posix.close(null)
    while True:
        try:
            _, status = posix.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    posix._exit(shell_status(status))


def drop_capabilities():
    fd = posix.open("/proc/sys/kernel/cap_last_cap", posix.O_RDONLY)
    try:
        last = int(posix.read(fd, 16))
    finally:
        posix.close(fd)
    for capability in range(last + 1):
        prctl(PR_CAPBSET_DROP, capability)
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = _buffer(LINUX_CAPABILITY_VERSION_3.to_bytes(4, sys.byteorder) + bytes(4))
    data = _buffer(bytes(24))  # effective, permitted, inheritable: nothing, twice (64 bits)
    _check(_capset(_ctypes.addressof(header), _ctypes.addressof(data)), "capset")


def reseed():
    """What the template's modules seeded at import differs in every run: ``random`` (also
    reseeded by its own fork hook), numpy's global generator, multiprocessing's key."""
    modules = sys.modules
    if "random" in modules:
        modules["random"].seed()
    if "numpy.random" in modules:
        modules["numpy.random"].seed()
    if "multiprocessing.process" in modules:
        config = modules["multiprocessing.process"].current_process()._config
        config["authkey"] = modules["multiprocessing.process"].AuthenticationString(posix.urandom(32))


def main():
    # Nothing the sandbox inherited beyond 0/1/2 may reach the script.
    posix.closerange(3, 1 << 16)
    args = parse_args(sys.argv[1:])
    harden_supervisor(args)
    if args["preload"]:
        load_packages(args)  # ahead, while the sandbox waits; else the script's own process does
    warm_interpreter()
    if args["template"]:
        serve_forks(args)  # returns in a run's PID 1, in its own namespaces
    write_all(1, b"S v=1\n")  # protocol.START_LINE on the host side
    typed = read_settings(args)
    if args["build"]:
        build(args)
        if args["build_only"] == "1":
            posix._exit(0)
    if args["build_wait"] == "1":
        typed = wait_for_go(typed)
        if args["stdin"] != "-":
            close_settings_pipe()
            typed = b""
    in_r, in_w = posix.pipe() if args["stdin"] == "-" else (-1, -1)
    out_r, out_w = posix.pipe()
    err_r, err_w = posix.pipe()
    status_r, status_w = posix.pipe2(posix.O_CLOEXEC)
    child = posix.fork()
    if child == 0:
        # A session of its own: the script cannot join the supervisor's process group (and
        # renice or signal it through the group). kill_everything kills the group outside a
        # PID namespace.
        posix.setsid()
        for fd in (out_r, err_r, status_r, in_w):
            if fd >= 0:
                posix.close(fd)
        if in_r >= 0:
            posix.close(0)  # the host's end of the input: for the supervisor alone
        try:
            run_child(args, in_r, out_w, err_w, status_w)
        except BaseException as exc:  # the script could not even be started: say why on its stderr
            posix.write(2, f"The script could not be started: {exc!r}\n".encode())
        finally:
            posix._exit(127)
    for fd in (out_w, err_w, status_w, in_r):
        if fd >= 0:
            posix.close(fd)
    posix.set_blocking(status_r, False)
    relay = (lambda poller: InputRelay(poller, 0, in_w, typed)) if in_w >= 0 else None
    status = Supervisor(args, child, out_r, err_r, status_r, relay).run()
    # Everything went out through posix.write, so nothing is buffered: skip the interpreter's
    # finalization (~0.7 ms of every run). PID 1 exiting ends whatever is left.
    posix._exit(status)


if __name__ == "__main__":
    main()
