"""The languages beyond Python: how each is compiled and run inside a sandbox.

A language runtime is a toolchain on the host (from Debian's packages, see the Makefile's
RUNTIMES) that every sandbox sees under ``/usr``. Its source is given to the sandbox as
``/sandbox/<source>``; a compiled one is built first, into the run's scratch space, by the
same in-sandbox supervisor (``executions/sandbox/entry.py``: ``build=``), with its own limits
(``settings.COMPILE_LIMITS``), then run (``run=``). The supervisor itself stays the Python
entry: it starts the language's command instead of running the script in its own interpreter.

Runners do not depend on a language being installed: :func:`installed` lists those whose
toolchain this machine has, and their versions are read from the toolchain.
"""

from __future__ import annotations

import base64
import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from executions.runners.base import Limits, RuntimeInfo

SOURCE_DIR = "/sandbox"  # the job directory, read-only in the sandbox
BUILD_DIR = "/tmp/build"  # in the scratch space: what a build makes, and toolchain caches
VERSION_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Language:
    runtime: str  # its name in the API (``runtime`` of a submission)
    language: str  # ``language`` in GET /api/v1/runtimes
    source: str  # the file name its source is given as
    run: tuple[str, ...]  # the program's command; {source} and {build} are filled in
    version: tuple[str, ...]  # prints the toolchain's version, matched by version_pattern
    version_pattern: str
    packages: tuple[str, ...]  # Debian's, installed by `make RUNTIMES=...`
    build: tuple[str, ...] = ()  # the compiler's command; empty: interpreted
    environment: dict[str, str] = field(default_factory=dict)
    interactive: bool = True
    title: str = ""  # its usual name, where not its language's capitalized
    # Host directories beyond /usr that its toolchain reads (configuration, package databases),
    # which every sandbox then sees read-only: world-readable package files, no secrets.
    host_paths: tuple[str, ...] = ()
    # Files given beside the source in /sandbox (name -> content): what its build or run needs of ours.
    support: dict[str, str] = field(default_factory=dict)

    @property
    def compiled(self) -> bool:
        return bool(self.build)

    @property
    def source_path(self) -> str:
        return f"{SOURCE_DIR}/{self.source}"

    def command(self, template: tuple[str, ...], *, resolve: bool = True) -> list[str]:
        """A command as the sandbox runs it: placeholders filled in, the program by its path:
        its real one on this machine (``resolve``: a link through /etc/alternatives leads
        nowhere in a bubblewrap sandbox), else where Debian's package puts it (an image)."""
        argv = [part.format(source=self.source_path, build=BUILD_DIR) for part in template]
        if argv[0].startswith(BUILD_DIR):
            return argv
        if resolve:
            argv[0] = os.path.realpath(shutil.which(argv[0]) or argv[0])
        elif not argv[0].startswith("/"):
            argv[0] = f"/usr/bin/{argv[0]}"
        return argv

    def run_settings(self, *, resolve: bool = True) -> dict:
        """The entry's settings that run the program (``run=``, ``env=``, its source)."""
        environment = [f"{name}={value}" for name, value in self.environment.items()]
        return {
            "script": self.source_path,
            "run": pack(self.command(self.run, resolve=resolve)),
            "env": pack(environment),
        }

    def build_settings(self, caps: Limits, *, output_bytes: int, memory: int, resolve: bool = True) -> dict:
        """The entry's settings that build it first, with the build's own limits (``caps``;
        ``memory`` its address space in bytes, 0 where a cgroup bounds it)."""
        return {
            "build": pack(self.command(self.build, resolve=resolve)),
            "build_dir": BUILD_DIR,
            "build_wall": caps.wall_seconds,
            "build_cpu": caps.cpu_seconds,
            "build_memory": memory,
            "build_output": min(caps.output_bytes, output_bytes),
        }

    @functools.cached_property
    def tool(self) -> str | None:
        """The toolchain's executable on this machine, or None when it is not installed (or
        not where sandboxes see the host's: under /usr or /bin)."""
        found = shutil.which((self.build or self.run)[0])
        return found if found and os.path.realpath(found).startswith(("/usr/", "/bin/")) else None

    @functools.cached_property
    def installed_version(self) -> str:
        probe = subprocess.run(
            self.version, capture_output=True, text=True, timeout=VERSION_TIMEOUT_SECONDS, check=False
        )
        found = re.search(self.version_pattern, probe.stdout + probe.stderr)
        return found.group(1) if found else "(unknown version)"

    def info(self, *, version: str | None = None) -> RuntimeInfo:
        """What it offers; its version as this machine's toolchain reports it, unless given."""
        return RuntimeInfo(
            self.language,
            version or self.installed_version,
            interactive=self.interactive,
            compiled=self.compiled,
            source_file=self.source,
            title=self.title,
        )


_C_FLAGS = ("-O2", "-pipe", "-o", "{build}/main", "{source}", "-lm")
# Output as on a terminal, in every language: each line goes out as it is printed (live, and
# not lost when the run is stopped at a limit), and a prompt shows before the program reads.
# A pipe would make C's stdio (C, C++, Lua) block buffered: coreutils' stdbuf library (in every
# Debian system) makes stdout line buffered, and stdin line buffered too, so that reading flushes
# a prompt, as glibc does for a terminal. Ruby, Perl and PyPy buffer on their own: see theirs.
# GHC's runtime too, with no switch for it (a program of its own imported as a module would make
# a `main` without a signature ambiguous): a Haskell program sets hSetBuffering itself.
LINE_BUFFERED_STDIO = {"LD_PRELOAD": "/usr/libexec/coreutils/libstdbuf.so", "_STDBUF_O": "L", "_STDBUF_I": "L"}
RUBY_SYNC = "integr8scode_sync.rb"
LANGUAGES = (
    Language(
        runtime="bash",
        language="bash",
        source="main.sh",
        run=("/bin/bash", "{source}"),
        version=("/bin/bash", "--version"),
        version_pattern=r"version (\d+\.\d+\.\d+)",
        packages=("bash",),
    ),
    Language(
        runtime="javascript",
        language="javascript",
        title="JavaScript",
        source="main.js",
        run=("node", "{source}"),
        version=("node", "--version"),
        version_pattern=r"v(\d+\.\d+\.\d+)",
        packages=("nodejs",),
    ),
    Language(
        runtime="ruby",
        language="ruby",
        source="main.rb",
        run=("ruby", f"-r{SOURCE_DIR}/{RUBY_SYNC}", "{source}"),
        version=("ruby", "--version"),
        version_pattern=r"ruby (\d+\.\d+\.\d+)",
        packages=("ruby",),
        support={RUBY_SYNC: "$stdout.sync = true\n$stderr.sync = true\n"},
    ),
    Language(
        runtime="perl",
        language="perl",
        source="main.pl",
        # Prepended to the program as `use UNIVERSAL;$|=1;` (lines unchanged): STDOUT flushed at
        # each print. UNIVERSAL is a no-op to use and tiny (IO::Handle's autoflush cost 9 ms).
        run=("perl", "-MUNIVERSAL;$|=1", "{source}"),
        version=("perl", "-e", "print $^V"),
        version_pattern=r"v(\d+\.\d+\.\d+)",
        packages=("perl",),
    ),
    Language(
        runtime="lua",
        language="lua",
        source="main.lua",
        run=("lua5.4", "{source}"),
        version=("lua5.4", "-v"),
        version_pattern=r"Lua (\d+\.\d+\.\d+)",
        packages=("lua5.4",),
        environment=LINE_BUFFERED_STDIO,
    ),
    Language(
        runtime="php",
        language="php",
        title="PHP",
        source="main.php",
        run=("php", "-d", "display_errors=stderr", "{source}"),
        version=("php", "--version"),
        version_pattern=r"PHP (\d+\.\d+\.\d+)",
        packages=("php-cli",),
    ),
    Language(
        runtime="c",
        language="c",
        title="C",
        source="main.c",
        build=("gcc", "-std=c17", *_C_FLAGS),
        run=("{build}/main",),
        version=("gcc", "-dumpfullversion"),
        version_pattern=r"(\d+\.\d+\.\d+)",
        packages=("gcc", "libc6-dev"),
        environment=LINE_BUFFERED_STDIO,
    ),
    Language(
        runtime="cpp",
        language="cpp",
        title="C++",
        source="main.cpp",
        build=("g++", "-std=c++20", *_C_FLAGS),
        run=("{build}/main",),
        version=("g++", "-dumpfullversion"),
        version_pattern=r"(\d+\.\d+\.\d+)",
        packages=("g++",),
        environment=LINE_BUFFERED_STDIO,
    ),
    Language(
        runtime="go",
        language="go",
        title="Go",
        source="main.go",
        build=("go", "build", "-o", "{build}/main", "{source}"),
        run=("{build}/main",),
        version=("go", "version"),
        version_pattern=r"go(\d+\.\d+(?:\.\d+)?)",
        packages=("golang-go",),
        # Its build cache and module settings, in the run's scratch space; no network, no modules.
        environment={"GOCACHE": f"{BUILD_DIR}/cache", "GOPATH": f"{BUILD_DIR}/go", "GO111MODULE": "off", "GOFLAGS": ""},
    ),
)


# A hello world in each (the bench times them; the conformance matrix runs them first).
HELLO = {
    "bash": 'echo "Hello, world!"',
    "javascript": 'console.log("Hello, world!")',
    "ruby": 'puts "Hello, world!"',
    "perl": 'print "Hello, world!\\n";',
    "lua": 'print("Hello, world!")',
    "php": '<?php echo "Hello, world!\\n";',
    "c": '#include <stdio.h>\nint main(void) { puts("Hello, world!"); return 0; }',
    "cpp": '#include <iostream>\nint main() { std::cout << "Hello, world!" << std::endl; }',
    "go": 'package main\nimport "fmt"\nfunc main() { fmt.Println("Hello, world!") }',
    "pypy3": 'print("Hello, world!")',
    "r": 'cat("Hello, world!\\n")',
    "rust": 'fn main() { println!("Hello, world!"); }',
    "java": 'public class Main { public static void main(String[] args) { System.out.println("Hello, world!"); } }',
    "haskell": 'main = putStrLn "Hello, world!"',
    "typescript": 'const greeting: string = "Hello, world!";\nconsole.log(greeting);',
}
UNKNOWN_LANGUAGE = "RUNTIMES names {name!r}, which is not a runtime here (known: python, all, {known})"


LANGUAGES += (
    Language(
        runtime="pypy3",
        language="python",
        title="PyPy",
        source="main.py",
        run=("/usr/bin/pypy3", "{source}"),
        version=("/usr/bin/pypy3", "--version"),
        version_pattern=r"PyPy (\d+\.\d+\.\d+)",
        packages=("pypy3",),
        environment={"PYTHONUNBUFFERED": "1"},
    ),
    Language(
        runtime="r",
        language="r",
        title="R",
        source="main.R",
        run=("/usr/bin/Rscript", "--vanilla", "{source}"),
        version=("/usr/bin/Rscript", "--version"),
        version_pattern=r"version (\d+\.\d+\.\d+)",
        packages=("r-base-core",),
        host_paths=("/etc/R", "/etc/alternatives"),  # its ldpaths; its BLAS and LAPACK are alternatives
    ),
    Language(
        runtime="rust",
        language="rust",
        title="Rust",
        source="main.rs",
        # Linked by gcc itself: cc is a link through /etc/alternatives.
        build=(
            "/usr/bin/rustc",
            "--edition",
            "2021",
            "-O",
            "-C",
            "linker=/usr/bin/gcc",
            "-o",
            "{build}/main",
            "{source}",
        ),
        run=("{build}/main",),
        version=("/usr/bin/rustc", "--version"),
        version_pattern=r"rustc (\d+\.\d+\.\d+)",
        packages=("rustc",),
        environment={"TMPDIR": BUILD_DIR},
    ),
    Language(
        runtime="java",
        language="java",
        title="Java",
        source="Main.java",
        build=("/usr/bin/javac", "-J-XX:+UseSerialGC", "-J-XX:TieredStopAtLevel=1", "-d", "{build}", "{source}"),
        # One compiler thread and a serial collector: a JVM within a sandbox's process limit.
        run=(
            "/usr/bin/java",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:CICompilerCount=1",
            "-XX:-UsePerfData",
            "-XX:MaxRAMPercentage=75",  # the heap as most of the run's memory, not a quarter
            "-Xss512k",
            "-cp",
            "{build}",
            "Main",
        ),
        version=("/usr/bin/javac", "-version"),
        version_pattern=r"javac (\d+(?:\.\d+)*)",
        packages=("default-jdk-headless",),
        host_paths=("/etc/java-17-openjdk",),  # its conf/ links there
    ),
    Language(
        runtime="haskell",
        language="haskell",
        title="Haskell",
        source="main.hs",
        build=("/usr/bin/ghc", "-O0", "-v0", "-outputdir", "{build}", "-o", "{build}/main", "{source}"),
        run=("{build}/main",),
        version=("/usr/bin/ghc", "--numeric-version"),
        version_pattern=r"(\d+\.\d+\.\d+)",
        packages=("ghc",),
        environment={"TMPDIR": BUILD_DIR},
        host_paths=("/var/lib/ghc",),  # its package database
    ),
)


# What Node offers a TypeScript program, declared loosely: Debian has no Node type definitions
# for its tsc, and a program must be able to read stdin (require("fs")) and use process.
NODE_GLOBALS = """declare const process: any;
declare function require(name: string): any;
declare const module: any;
declare const exports: any;
declare const Buffer: any;
declare const __dirname: string;
declare const __filename: string;
"""
LANGUAGES += (
    Language(
        runtime="typescript",
        language="typescript",
        title="TypeScript",
        source="main.ts",
        build=(
            "/usr/bin/tsc",
            "--target",
            "es2020",
            "--module",
            "commonjs",
            "--noEmitOnError",
            "--pretty",
            "false",
            "--outDir",
            "{build}",
            "{source}",
            f"{SOURCE_DIR}/node-globals.d.ts",
        ),
        run=("node", "{build}/main.js"),
        version=("/usr/bin/tsc", "--version"),
        version_pattern=r"Version (\d+\.\d+\.\d+)",
        packages=("node-typescript", "nodejs"),
        support={"node-globals.d.ts": NODE_GLOBALS},
    ),
)


def pack(values: list[str]) -> str:
    """A list for the entry's settings (``run=``, ``build=``, ``env=``): base64 of NUL-separated."""
    return base64.b64encode("\0".join(values).encode()).decode("ascii")


def installed() -> dict[str, Language]:
    """The languages whose toolchain this machine has, by runtime name."""
    return {language.runtime: language for language in LANGUAGES if language.tool}


def by_runtime(name: str) -> Language | None:
    return next((language for language in LANGUAGES if language.runtime == name), None)


def wanted(names: list[str]) -> list[Language]:
    """The languages a RUNTIMES list names ("all": every one; "python" is not one of them)."""
    if "all" in names:
        return list(LANGUAGES)
    known = {language.runtime: language for language in LANGUAGES}
    for name in names:
        if name not in known and name != "python":
            raise ValueError(UNKNOWN_LANGUAGE.format(name=name, known=", ".join(known)))
    return [known[name] for name in names if name != "python"]


if __name__ == "__main__":  # `make`: the Debian packages RUNTIMES needs
    import sys

    try:
        needed = {package for language in wanted(sys.argv[1:]) for package in language.packages}
    except ValueError as exc:
        sys.exit(str(exc))
    print(" ".join(sorted(needed)))
