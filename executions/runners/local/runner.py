"""The local runner: one throwaway sandbox per run, on this machine.

Two isolation levels share everything but the walls: ``bubblewrap`` (``bwrap.py``, the
default: Linux namespaces, the host's kernel behind a system-call filter) and ``gvisor``
(``gvisor.py``: the same sandbox behind gVisor's user-space kernel). Either way the sandbox
entry (``executions/sandbox/entry.py``) runs as PID 1 inside and does the in-sandbox work, the
job directory and scratch space come from ``scratch.py``, the cgroup from ``cgroups.py``. This
module builds sandboxes (``launcher.py`` starts them ahead of their runs) and ``sandbox.py``
follows each run, with host-side backstops and the host's own measurement, to its clean-up.

When the server runs as root, each sandbox gets an unprivileged host uid from a range (one per
concurrent run, claimed with a lock file): bubblewrap runs as it, gVisor runs the script as it.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from executions import sandbox
from executions.runners import languages
from executions.runners.base import BaseRunner, OutputSink, RunnerError, RunSpec, RuntimeInfo, Sandbox
from executions.runners.languages import Language
from executions.runners.local import cgroups
from executions.runners.local.bwrap import Bubblewrap
from executions.runners.local.gvisor import NEEDS_CGROUPS, GVisor
from executions.runners.local.launcher import Launcher, LauncherPool
from executions.runners.local.sandbox import JOB_DIR, SANDBOX_FILES, WORK_DIR, LauncherBroken, LocalSandbox
from executions.runners.local.scratch import DetachedScratch, JobDir, remove_job_dir, share_mounts_under
from executions.runners.local.setup import Runtime, SlotPool, process_exists, reap_strays, trusted_work_dir
from executions.runners.local.template import TEMPLATE_PIDS, ForkLauncher, Template, TemplatePool

ENTRY_PATH = Path(sandbox.__file__).resolve().parent / "entry.py"
ENTRY_SHOWN_AS = "/opt/integr8scode/entry.py"  # its file name in the bytecode (and tracebacks)
TEMPLATE_FILTER = "/opt/integr8scode/filter.bpf"  # the whole filter, which each forked run installs

log = logging.getLogger(__name__)

RUNTIME_MISSING = "Runtime {name!r}: interpreter {path} does not exist"
LANGUAGE_MISSING = "RUNTIMES names {name!r}, whose toolchain is not installed here: make RUNTIMES={name} installs it"
UNKNOWN_RUNTIME = "Unknown runtime {name!r}; available: {available}"
UNKNOWN_ISOLATION = "Unknown isolation level {level!r} for the local runner; use one of: {levels}"
RUNTIME_CONFIG = "Runtime {name!r}: give its python (and optionally packages, preload), not {unknown}"
NO_FREE_UID = "All sandbox uids are in use; try again when a run finishes"
START_FAILED = "The sandbox could not be started: {error}"

SANDBOX_ENV = {"HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "MALLOC_ARENA_MAX": "2"}
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
ENTRY_SETTINGS_ARG = "settings=-"  # one line on its stdin, once the run is known

ISOLATION_LEVELS = ("bubblewrap", "gvisor")
DEFAULT_OPTIONS = {
    "isolation": "bubblewrap",  # or "gvisor": the same sandbox behind gVisor's user-space kernel
    "bwrap": "/usr/bin/bwrap",
    "runsc": "/usr/bin/runsc",
    "gvisor_platform": "ptrace",  # gVisor's way of stopping system calls (kvm where it works)
    # {"name": "/path/to/python"} or {"name": {"python": "/path/to/python", "packages": "/site-packages/dir",
    # "preload": "module,module"}} (preload: imported while a sandbox waits for its run);
    # default: the interpreter running this, alone
    "runtimes": None,
    "uid_base": 200000,
    "uid_count": 1024,
    "cgroups": True,
    "cgroup_v2_parent": None,  # a delegated cgroup v2 directory with memory and pids enabled
    "work_dir": None,  # lock files, job directories, runtime mount points; default: <tmp>/integr8scode
    "grace_seconds": 3.0,  # host backstop: wall limit + this
    "open_files": 256,
    "scratch_files": 4096,  # inodes in a sandbox's /tmp (as root; bubblewrap cannot cap them)
    "warm": 2,  # sandboxes started ahead per runtime and scratch size, see launcher.py
    # bubblewrap, as root, with cgroups: fork every run from a warm template of its runtime
    # (template.py), replaced when older than this or above this much memory
    "templates": True,
    "template_max_age_seconds": 3600.0,
    "template_memory_mb": 1024,
    # Languages beyond Python (executions/runners/languages.py): True for every one whose
    # toolchain is installed, or a list of runtime names (settings: RUNTIMES); their sandboxes
    # are those of the first Python runtime without packages, whose entry starts their command
    "languages": False,
}


class LocalRunner(BaseRunner):
    name = "local"

    def __init__(self, **options):
        unknown = set(options) - set(DEFAULT_OPTIONS)
        if unknown:
            raise ImproperlyConfigured(f"Unknown LocalRunner OPTIONS: {sorted(unknown)}")
        super().__init__(**{**DEFAULT_OPTIONS, **options})
        self.work_dir = Path(self.options["work_dir"] or Path(tempfile.gettempdir()) / "integr8scode")
        self.isolation = self._build_isolation()
        self.as_root = os.geteuid() == 0
        self.slots = SlotPool(self.work_dir / "slots", self.options["uid_base"], self.options["uid_count"])
        self._runtimes = self._build_runtimes()
        self.languages = self._build_languages()
        self.supervisor_runtime().host_paths = sorted(
            {path for language in self.languages.values() for path in language.host_paths if os.path.isdir(path)}
        )
        self._cgroups: cgroups.CgroupManager | None | bool = False  # False: not probed yet
        self._lock = threading.Lock()
        self.launchers = LauncherPool(size=self.options["warm"], factory=self._new_launcher)
        self.templates = TemplatePool(
            factory=self._new_template,
            # Its armed forks go too: the template ends once the runs it forked have.
            retired=lambda template: self.launchers.discard_idle(lambda launcher: launcher.template is template),
            max_age_seconds=self.options["template_max_age_seconds"],
            memory_bytes=self.options["template_memory_mb"] << 20,
        )
        self._host_prepared = False

    def _prepare_host(self) -> None:
        """Once, before the first sandbox (not when the runner is made: a system check makes
        one): the work directory is made or found trustworthy, what a killed server left is
        removed, and the job directories' parent is made a shared mount before any runtime
        is staged. Raises OSError."""
        with self._lock:
            if self._host_prepared:
                return
            trusted_work_dir(self.work_dir)
            if self.as_root:
                self._reap_job_dirs(older_than_seconds=0)  # scripts of past runs
                self._jobs_dir().mkdir(mode=0o711, parents=True, exist_ok=True)
                share_mounts_under(self._jobs_dir())
            self._host_prepared = True

    def _build_isolation(self) -> Bubblewrap | GVisor:
        level = self.options["isolation"]
        if level == "bubblewrap":
            return Bubblewrap(bwrap=self.options["bwrap"])
        if level == "gvisor":
            return GVisor(runsc=self.options["runsc"], platform=self.options["gvisor_platform"], work_dir=self.work_dir)
        raise ImproperlyConfigured(UNKNOWN_ISOLATION.format(level=level, levels=", ".join(ISOLATION_LEVELS)))

    def _build_runtimes(self) -> dict[str, Runtime]:
        configured = self.options["runtimes"] or {_default_runtime_name(): os.path.realpath(sys._base_executable)}
        runtimes = {}
        for name, config in configured.items():
            config = config if isinstance(config, dict) else {"python": config}
            unknown = set(config) - {"python", "packages", "preload"}
            if unknown or "python" not in config:
                raise ImproperlyConfigured(RUNTIME_CONFIG.format(name=name, unknown=sorted(unknown)))
            staging_root = self.work_dir / "runtimes"
            runtimes[name] = Runtime(
                name,
                config["python"],
                staging_root,
                self.as_root,
                packages=config.get("packages"),
                preload=config.get("preload", ""),
            )
        return runtimes

    def _build_languages(self) -> dict[str, Language]:
        wanted = self.options["languages"]
        if isinstance(wanted, list | tuple):
            try:
                named = {language.runtime for language in languages.wanted(list(wanted))}
            except ValueError as exc:
                raise ImproperlyConfigured(str(exc)) from None
        else:  # True: whichever are installed
            named = set(languages.installed()) if wanted else set()
        found = {name: language for name, language in languages.installed().items() if name in named}
        self.languages_missing = sorted(named - set(found))
        return {name: language for name, language in found.items() if name not in self._runtimes}

    def supervisor_runtime(self) -> Runtime:
        """The Python runtime whose sandboxes run the other languages (its entry supervises them)."""
        return next(
            (runtime for runtime in self._runtimes.values() if not runtime.packages),
            next(iter(self._runtimes.values())),
        )

    @property
    def cgroups(self) -> cgroups.CgroupManager | None:
        with self._lock:
            if self._cgroups is False:
                wanted = self.options["cgroups"]
                self._cgroups = cgroups.detect(v2_parent=self.options["cgroup_v2_parent"]) if wanted else None
            return self._cgroups

    def runtimes(self) -> dict[str, RuntimeInfo]:
        # Interactive runs need the host to measure their CPU time (to tell one that waits for
        # input) and to stop one that computes without a slot: a cgroup that accounts CPU and
        # can be frozen.
        interactive = self.cgroups is not None and self.cgroups.accounts_cpu and self.cgroups.freezes
        infos = {name: runtime.info for name, runtime in self._runtimes.items()}
        infos |= {name: language.info() for name, language in self.languages.items()}
        return {name: replace(info, interactive=interactive and info.interactive) for name, info in infos.items()}

    def isolation_of(self, runtime: str) -> str:
        return self.isolation.name

    def start(self, spec: RunSpec, sink: OutputSink) -> Sandbox:
        runtime = self.supervisor_runtime() if spec.runtime in self.languages else self._runtimes.get(spec.runtime)
        if runtime is None:
            message = UNKNOWN_RUNTIME.format(name=spec.runtime, available=", ".join([*self._runtimes, *self.languages]))
            raise RunnerError(message, permanent=True)
        asked = time.monotonic()
        disk_mb = spec.limits.disk_mb
        language = self.languages.get(spec.runtime)
        if language is not None and language.compiled and spec.compile_limits is not None:
            disk_mb += spec.compile_limits.disk_mb  # the build's objects and caches share the scratch space
        try:
            return LocalSandbox(self, *self._take(runtime, disk_mb, warm=True), spec, sink, asked)
        except LauncherBroken:
            # A warm launcher that could not take the run (its bwrap was killed, its cgroup
            # removed) is found out before the script starts: use a fresh one at once.
            pass
        try:
            return LocalSandbox(self, *self._take(runtime, disk_mb, warm=False), spec, sink, asked)
        except LauncherBroken as exc:
            raise RunnerError(START_FAILED.format(error=exc)) from exc

    def _take(self, runtime: Runtime, disk_mb: int, *, warm: bool) -> tuple[Launcher, bool]:
        try:
            return self.launchers.take(runtime, disk_mb, warm=warm)
        except OSError as exc:
            raise RunnerError(START_FAILED.format(error=exc), permanent=isinstance(exc, FileNotFoundError)) from exc

    def _new_launcher(self, runtime: Runtime, disk_mb: int) -> Launcher:
        """A sandbox for ``runtime`` with ``disk_mb`` of scratch space, its entry up and waiting:
        forked from the runtime's template where there is one ready, else started cold."""
        self._prepare_host()
        if self.forks_runs():
            template = self.templates.get(runtime, self.template_fingerprint(runtime))
            if template is not None:
                try:
                    return self._forked_launcher(template, disk_mb)
                except (OSError, RunnerError) as exc:
                    log.warning("A run of %s starts cold: its template could not fork it (%s)", runtime.name, exc)
        return self._cold_launcher(runtime, disk_mb)

    def forks_runs(self) -> bool:
        """Whether runs fork from templates here: bubblewrap, as root (with the host's tmpfs for
        each run's scratch space), with cgroups that account CPU time (the host measures a
        fork's run from its cgroup alone)."""
        manager = self.cgroups
        return bool(
            self.options["templates"]
            and self.as_root
            and self.options["scratch_files"] is not None
            and isinstance(self.isolation, Bubblewrap)
            and manager is not None
            and manager.accounts_cpu
        )

    def wait_for_templates(self, *, timeout: float) -> bool:
        """Start every runtime's template and wait until they are up (tests, the bench); False
        where runs do not fork here or a template did not come up in time."""
        if not self.forks_runs():
            return False
        self._prepare_host()
        deadline = time.monotonic() + timeout
        return all(
            self.templates.wait_ready(runtime, self.template_fingerprint(runtime), timeout=deadline - time.monotonic())
            for runtime in self._runtimes.values()
        )

    def template_memory(self) -> dict[str, int]:
        return {name: template.memory_bytes() for name, template in self.templates.templates().items()}

    def template_fingerprint(self, runtime: Runtime) -> tuple:
        """What a template was started from: when it changes, the template is replaced."""
        entry = runtime.compiled(ENTRY_PATH, self.work_dir / "entries", shown_as=ENTRY_SHOWN_AS)
        files = [runtime.interpreter, runtime.packages] if runtime.packages else [runtime.interpreter]
        stats = [os.stat(path) for path in files]
        return (str(entry), *((info.st_ino, info.st_mtime_ns) for info in stats))

    def _forked_launcher(self, template: Template, disk_mb: int) -> ForkLauncher:
        cgroup = self.cgroups.create(str(template.uid))
        try:
            job_dir = DetachedScratch(uid=template.uid, disk_mb=disk_mb, inodes=self.options["scratch_files"])
            launcher = ForkLauncher(template=template, cgroup=cgroup, job_dir=job_dir)
        except BaseException:
            cgroup.remove()
            raise
        return self._armed(launcher)

    def _new_template(self, runtime: Runtime) -> Template:
        """The runtime's template: its own uid, its own cgroup (memory bounded), its warm modules
        imported. Called only by the template pool's thread."""
        self._prepare_host()
        uid = self.slots.claim()
        if uid is None:
            raise RunnerError(NO_FREE_UID)
        cgroup = None
        try:
            fingerprint = self.template_fingerprint(runtime)
            cgroup = self.cgroups.create(str(uid))
            cgroup.limit(memory_bytes=self.options["template_memory_mb"] << 20, pids=TEMPLATE_PIDS)
            spawn = self.isolation.spawn_template(
                runtime=runtime,
                uid=uid,
                entry=Path(fingerprint[0]),
                command=_entry_command(runtime, preload=True, extra=("template=1", f"filter={TEMPLATE_FILTER}")),
                environment=_sandbox_environment(runtime),
                files={"entry": SANDBOX_FILES["entry"], "filter": TEMPLATE_FILTER, "job": JOB_DIR, "work": WORK_DIR},
            )
        except BaseException:
            if cgroup is not None:
                cgroup.remove()
            self.slots.release(uid)
            raise
        return Template(
            spawn=spawn,
            runtime=runtime,
            uid=uid,
            cgroup=cgroup,
            fingerprint=fingerprint,
            release=lambda template: self.slots.release(template.uid),
        )

    def _cold_launcher(self, runtime: Runtime, disk_mb: int) -> Launcher:
        uid = self.slots.claim() if self.as_root else None
        if self.as_root and uid is None:
            raise RunnerError(NO_FREE_UID)
        cgroup = job_dir = spawn = None
        try:
            cgroup = self.cgroups.create(str(uid or f"p{os.getpid()}")) if self.cgroups else None
            job_dir = self._new_job_dir(uid, disk_mb)
            spawn = self.isolation.spawn(
                runtime=runtime,
                uid=uid,
                job_dir=job_dir,
                disk_mb=disk_mb,
                entry=runtime.compiled(ENTRY_PATH, self.work_dir / "entries", shown_as=ENTRY_SHOWN_AS),
                command=_entry_command(runtime, preload=self.isolation.preloads),
                environment=_sandbox_environment(runtime),
                files={"entry": SANDBOX_FILES["entry"], "job": JOB_DIR, "work": WORK_DIR},
                cgroup=cgroup,
            )
            launcher = Launcher(
                spawn=spawn,
                runtime=runtime,
                uid=uid,
                cgroup=cgroup,
                job_dir=job_dir,
                release_uid=self.slots.release,
                release=self.isolation.release,
            )
        except BaseException:
            if spawn is not None:
                self.isolation.release(spawn.name)
            if job_dir is not None:
                job_dir.remove()
            if cgroup is not None:
                cgroup.remove()
            if uid is not None:
                self.slots.release(uid)
            raise
        return self._armed(launcher)

    def _armed(self, launcher: Launcher) -> Launcher:
        """The launcher once its entry is up, sheltered from the out-of-memory killer; discarded
        if it does not come up."""
        try:
            launcher.arm()
            self.isolation.shelter(launcher)
        except BaseException:
            launcher.discard()
            raise
        return launcher

    def _new_job_dir(self, uid: int | None, disk_mb: int) -> JobDir:
        # As root, a tmpfs of the sandbox's own (see scratch.py). Otherwise only the sandbox's
        # own uid may enter it: no other sandbox and no other user of the host reads a script
        # through it.
        jobs = self._jobs_dir()
        jobs.mkdir(mode=0o711, parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=f"{uid or 'p'}-", dir=jobs))  # mode 0700
        if uid is not None:
            os.chown(path, uid, uid)
            path.chmod(0o500)
        return JobDir(path, uid=uid, disk_mb=disk_mb, inodes=self.options["scratch_files"])

    def _jobs_dir(self) -> Path:
        return self.work_dir / "jobs"

    def check(self) -> list[str]:
        problems = self.isolation.problems(as_root=self.as_root)
        if self.isolation.name == "gvisor" and self.cgroups is None:
            problems.append(NEEDS_CGROUPS)
        problems += [
            RUNTIME_MISSING.format(name=name, path=runtime.interpreter)
            for name, runtime in self._runtimes.items()
            if not os.access(runtime.interpreter, os.X_OK)
        ]
        problems += [problem for runtime in self._runtimes.values() for problem in runtime.problems()]
        problems += [LANGUAGE_MISSING.format(name=name) for name in self.languages_missing]
        if self.work_dir.exists():  # a check makes nothing: a missing one is made at the first run
            try:
                trusted_work_dir(self.work_dir)
            except OSError as exc:
                problems.append(str(exc))
        return problems

    def reap(self, *, older_than: timedelta) -> int:
        """Kill sandboxes whose uid no live run or warm launcher holds, and their cgroups.

        Safe to run at any time, from any process of this machine: a runner claims a uid
        before anything runs as it or any cgroup is named after it, and releases it only
        after its processes are reaped and its cgroup is gone (see SlotPool)."""
        removed = 0
        trusted_work_dir(self.work_dir)  # its uid locks say which sandboxes are live
        if self.as_root:
            removed += reap_strays(self.slots, older_than.total_seconds())
            removed += self._reap_job_dirs(older_than.total_seconds())
        if self.cgroups is not None:
            for leftover in self.cgroups.leftovers(older_than_seconds=older_than.total_seconds()):
                removed += self._reap_cgroup(leftover)
        if self.as_root:
            self.isolation.reap(self.slots.held_if_free)  # what gVisor keeps outside a sandbox it ran
        return removed

    def _reap_job_dirs(self, older_than_seconds: float) -> int:
        """Job directories of uids nobody holds (their run's process died before removing them)."""
        removed = 0
        for job_dir in self._jobs_dir().glob("*-*"):
            uid = job_dir.name.partition("-")[0]
            try:
                stale = time.time() - job_dir.stat().st_mtime >= older_than_seconds
            except FileNotFoundError:
                continue
            if not (uid.isdigit() and stale):
                continue
            with self.slots.held_if_free(int(uid)) as free:
                if free and job_dir.exists():
                    remove_job_dir(job_dir)
                    removed += 1
        return removed

    def _reap_cgroup(self, cgroup: cgroups.RunCgroup) -> int:
        owner = cgroup.owner()
        if owner is None:
            return 0  # not a name this version gives: leave it to whoever made it
        kind, number = owner
        if kind == "pid":
            return 0 if process_exists(number) else int(cgroup.remove())
        with self.slots.held_if_free(number) as free:  # False too for another runner's uid range
            return int(cgroup.remove()) if free else 0


def _entry_command(runtime: Runtime, *, preload: bool, extra: tuple[str, ...] = ()) -> list[str]:
    """How a sandbox starts the entry: the runtime's interpreter on its bytecode, the runtime's
    entry arguments, ``extra``, and its settings to come on its standard input."""
    return [
        *(runtime.sandbox_interpreter, "-I", "-S", SANDBOX_FILES["entry"]),
        *runtime.entry_args(preload=preload),
        *extra,
        ENTRY_SETTINGS_ARG,
    ]


def _sandbox_environment(runtime: Runtime) -> dict[str, str]:
    return {**SANDBOX_ENV, **runtime.environment(SANDBOX_PATH)}


def _default_runtime_name() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"
