# ruff: noqa: E501 - the programs are a table, one line each
"""The conformance matrix: every installed runtime (Python and each language of
executions/runners/languages.py) through the local runner, in real sandboxes, case by case:
hello, stdin echoed, exit code 3, a runtime error, a compile error (compiled ones), an endless
loop, a memory hog, an output flood, a fork bomb, the network, and a file returned. A runtime
whose toolchain is not installed skips with its name (`make RUNTIMES=all` installs them all)."""

import textwrap
from dataclasses import replace

import pytest

from executions.runners.base import ErrorType, FileCaps, Limits, RunSpec, Stream
from executions.runners.languages import HELLO, LANGUAGES
from executions.runners.local.runner import LocalRunner
from executions.tests.runners.test_local import NEEDS_ROOT, Sink
from executions.tests.runners.test_local_interactive import Followed

pytestmark = NEEDS_ROOT

LIMITS = Limits(wall_seconds=10, cpu_seconds=5, memory_mb=96, processes=32, disk_mb=8, output_bytes=64 * 1024)
BUILT_AND_STARTED_SECONDS = 30  # the slowest build here (tsc) takes about 2 s
COMPILE = Limits(wall_seconds=60, cpu_seconds=60, memory_mb=1024, processes=64, disk_mb=256, output_bytes=64 * 1024)
CAPS = FileCaps(count=5, total_bytes=1 << 20, file_bytes=1 << 20)
C_NETWORK = """
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>
int main(void) {
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(80)};
    inet_pton(AF_INET, "1.1.1.1", &to.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    puts(s >= 0 && connect(s, (struct sockaddr *)&to, sizeof to) == 0 ? "connected" : "blocked");
    return 0;
}
"""
CPP_NETWORK = C_NETWORK.replace(
    "struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(80)};",
    "struct sockaddr_in to{}; to.sin_family = AF_INET; to.sin_port = htons(80);",
)

# Per runtime: hello, echo (stdin to stdout), exit3, error (raises "boom"), loop, hog, flood, bomb,
# network (prints connected or blocked), file (writes out.txt), and compile_error where compiled.
PROGRAMS = {
    "python3.13": {
        "hello": 'print("Hello, world!")',
        "echo": "import sys\nprint(sys.stdin.read(), end='')",
        "exit3": "raise SystemExit(3)",
        "error": "raise ValueError('boom')",
        "loop": "while True:\n    pass",
        "hog": "x = []\nwhile True:\n    x.append(bytearray(1 << 20))",
        "flood": "while True:\n    print('a' * 100)",
        "bomb": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        "network": "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 80), 2)\n    print('connected')\nexcept OSError:\n    print('blocked')",
        "file": "open('out.txt', 'w').write('data')",
    },
    "bash": {
        "echo": "cat",
        "exit3": "exit 3",
        "error": "echo boom >&2\nexit 1",
        "loop": "while :; do :; done",
        "hog": 'x=a\nwhile :; do x="$x$x"; done',
        "flood": "while :; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done",
        "bomb": "b() { b | b & }\nb",
        "network": "(exec 3<>/dev/tcp/1.1.1.1/80) 2>/dev/null && echo connected || echo blocked",
        "file": "printf data > out.txt",
    },
    "javascript": {
        "echo": 'process.stdout.write(require("fs").readFileSync(0, "utf8"))',
        "exit3": "process.exit(3)",
        "error": 'throw new Error("boom")',
        "loop": "for (;;) {}",
        "hog": "const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));",
        "flood": 'const l = "a".repeat(100) + "\\n"; for (;;) require("fs").writeSync(1, l);',
        "bomb": 'const { spawn } = require("child_process"); for (;;) { try { spawn("/bin/sleep", ["60"]); } catch (e) {} }',
        "network": 'require("net").connect(80, "1.1.1.1").on("connect", () => { console.log("connected"); process.exit(); }).on("error", () => console.log("blocked"));',
        "file": 'require("fs").writeFileSync("out.txt", "data")',
    },
    "ruby": {
        "echo": "print STDIN.read",
        "exit3": "exit 3",
        "error": 'raise "boom"',
        "loop": "loop {}",
        "hog": 'a = []; loop { a << ("x" * (1 << 20)) }',
        "flood": 'loop { puts "a" * 100 }',
        "bomb": "loop { fork rescue nil }",
        "network": "require 'socket'\nbegin\n  TCPSocket.new('1.1.1.1', 80, connect_timeout: 2)\n  puts 'connected'\nrescue StandardError\n  puts 'blocked'\nend",
        "file": 'File.write("out.txt", "data")',
    },
    "perl": {
        "echo": "print while <STDIN>;",
        "exit3": "exit 3;",
        "error": 'die "boom\\n";',
        "loop": "1 while 1;",
        "hog": 'my @a; push @a, "x" x (1 << 20) while 1;',
        "flood": 'print "a" x 100, "\\n" while 1;',
        "bomb": "fork while 1;",
        "network": 'use IO::Socket::INET;\nprint(IO::Socket::INET->new(PeerAddr => \'1.1.1.1:80\', Timeout => 2) ? "connected\\n" : "blocked\\n");',
        "file": 'open(my $f, ">", "out.txt") or die; print $f "data"; close $f;',
    },
    "lua": {
        "echo": 'io.write(io.read("a"))',
        "exit3": "os.exit(3)",
        "error": 'error("boom")',
        "loop": "while true do end",
        "hog": 'local t = {} while true do t[#t + 1] = string.rep("x", 1 << 20) .. #t end',
        "flood": 'while true do print(string.rep("a", 100)) end',
        "bomb": 'while true do io.popen("sleep 60 &") end',
        # Lua has no sockets of its own: the shell it can start tries instead.
        "network": "print(os.execute(\"bash -c 'exec 3<>/dev/tcp/1.1.1.1/80' 2>/dev/null\") and 'connected' or 'blocked')",
        "file": 'local f = assert(io.open("out.txt", "w")) f:write("data") f:close()',
    },
    "php": {
        "echo": "<?php echo stream_get_contents(STDIN);",
        "exit3": "<?php exit(3);",
        "error": '<?php throw new Exception("boom");',
        "loop": "<?php while (true) {}",
        "hog": '<?php ini_set("memory_limit", "-1"); $a = []; while (true) $a[] = str_repeat("x", 1 << 20);',
        "flood": '<?php while (true) echo str_repeat("a", 100), "\\n";',
        "bomb": '<?php while (true) { @proc_open("sleep 60", [], $p); }',
        "network": '<?php $s = @fsockopen("1.1.1.1", 80, $e, $m, 2); echo $s ? "connected\\n" : "blocked\\n";',
        "file": '<?php file_put_contents("out.txt", "data");',
    },
    "c": {
        "echo": "#include <stdio.h>\nint main(void) { int c; while ((c = getchar()) != EOF) putchar(c); return 0; }",
        "exit3": "int main(void) { return 3; }",
        "error": '#include <stdio.h>\n#include <stdlib.h>\nint main(void) { fputs("boom\\n", stderr); abort(); }',
        "loop": "int main(void) { for (;;) {} }",
        "hog": "#include <stdlib.h>\n#include <string.h>\nint main(void) { for (;;) memset(malloc(1 << 20), 1, 1 << 20); }",
        "flood": '#include <stdio.h>\nint main(void) { for (;;) puts("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); }',
        "bomb": "#include <unistd.h>\nint main(void) { for (;;) fork(); }",
        "network": C_NETWORK,
        "file": '#include <stdio.h>\nint main(void) { FILE *f = fopen("out.txt", "w"); fputs("data", f); return fclose(f); }',
        "compile_error": "int main(void) { return undeclared; }",
    },
    "cpp": {
        "echo": "#include <iostream>\nint main() { std::cout << std::cin.rdbuf(); }",
        "exit3": "int main() { return 3; }",
        "error": '#include <stdexcept>\nint main() { throw std::runtime_error("boom"); }',
        "loop": "int main() { for (;;) {} }",
        "hog": "#include <cstring>\n#include <vector>\nint main() { std::vector<char*> v; for (;;) { char *p = new char[1 << 20]; std::memset(p, 1, 1 << 20); v.push_back(p); } }",
        "flood": '#include <cstdio>\nint main() { for (;;) std::puts("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); }',
        "bomb": "#include <unistd.h>\nint main() { for (;;) fork(); }",
        "network": CPP_NETWORK,
        "file": '#include <fstream>\nint main() { std::ofstream("out.txt") << "data"; }',
        "compile_error": "int main() { return undeclared; }",
    },
    "go": {
        "echo": 'package main\nimport ("io"; "os")\nfunc main() { io.Copy(os.Stdout, os.Stdin) }',
        "exit3": 'package main\nimport "os"\nfunc main() { os.Exit(3) }',
        "error": 'package main\nfunc main() { panic("boom") }',
        "loop": "package main\nfunc main() { for {} }",
        "hog": "package main\nfunc main() { var a [][]byte; for { b := make([]byte, 1<<20); for i := range b { b[i] = 1 }; a = append(a, b) } }",
        "flood": 'package main\nimport "fmt"\nfunc main() { for { fmt.Println("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") } }',
        "bomb": 'package main\nimport "os/exec"\nfunc main() { for { exec.Command("/bin/sleep", "60").Start() } }',
        "network": 'package main\nimport ("fmt"; "net"; "time")\nfunc main() { if _, err := net.DialTimeout("tcp", "1.1.1.1:80", 2*time.Second); err != nil { fmt.Println("blocked") } else { fmt.Println("connected") } }',
        "file": 'package main\nimport "os"\nfunc main() { os.WriteFile("out.txt", []byte("data"), 0o644) }',
        "compile_error": "package main\nfunc main() { return undeclared }",
    },
}
PROGRAMS["pypy3"] = PROGRAMS["python3.13"]
PROGRAMS["r"] = {
    "echo": 'writeLines(readLines(file("stdin")))',
    "exit3": "quit(status = 3)",
    "error": 'stop("boom")',
    "loop": "repeat {}",
    "hog": "x <- list(); i <- 0\nrepeat { i <- i + 1; x[[i]] <- numeric(131072) + i }",
    "flood": 'repeat cat(strrep("a", 100), "\\n")',
    "bomb": 'repeat try(system("sleep 60", wait = FALSE))',
    "network": 'con <- tryCatch(socketConnection("1.1.1.1", 80, timeout = 2), error = function(e) NULL, warning = function(w) NULL)\ncat(if (is.null(con)) "blocked\\n" else "connected\\n")',
    "file": 'cat("data", file = "out.txt")',
}
PROGRAMS["rust"] = {
    "echo": 'use std::io::Read;\nfn main() { let mut s = String::new(); std::io::stdin().read_to_string(&mut s).unwrap(); print!("{}", s); }',
    "exit3": "fn main() { std::process::exit(3); }",
    "error": 'fn main() { panic!("boom"); }',
    "loop": "fn main() { loop {} }",
    "hog": "fn main() { let mut v: Vec<Vec<u8>> = Vec::new(); loop { v.push(vec![1u8; 1 << 20]); } }",
    "flood": 'fn main() { loop { println!("{}", "a".repeat(100)); } }',
    "bomb": 'fn main() { loop { let _ = std::process::Command::new("/bin/sleep").arg("60").spawn(); } }',
    "network": 'use std::{net::TcpStream, time::Duration};\nfn main() { let to = "1.1.1.1:80".parse().unwrap(); println!("{}", if TcpStream::connect_timeout(&to, Duration::from_secs(2)).is_ok() { "connected" } else { "blocked" }); }',
    "file": 'fn main() { std::fs::write("out.txt", "data").unwrap(); }',
    "compile_error": "fn main() { let _x: i32 = undeclared; }",
}
_JAVA = "public class Main {{ public static void main(String[] args) throws Exception {{ {} }} }}"
PROGRAMS["java"] = {
    "echo": _JAVA.format("System.in.transferTo(System.out);"),
    "exit3": _JAVA.format("System.exit(3);"),
    "error": _JAVA.format('throw new RuntimeException("boom");'),
    "loop": _JAVA.format("while (true) {}"),
    "hog": _JAVA.format(
        "var l = new java.util.ArrayList<byte[]>(); while (true) { byte[] b = new byte[1 << 20]; java.util.Arrays.fill(b, (byte) 1); l.add(b); }"
    ),
    "flood": _JAVA.format('while (true) System.out.println("a".repeat(100));'),
    "bomb": _JAVA.format(
        'while (true) { try { new ProcessBuilder("/bin/sleep", "60").start(); } catch (Exception e) {} }'
    ),
    "network": _JAVA.format(
        'try (var s = new java.net.Socket()) { s.connect(new java.net.InetSocketAddress("1.1.1.1", 80), 2000); System.out.println("connected"); } catch (Exception e) { System.out.println("blocked"); }'
    ),
    "file": _JAVA.format('java.nio.file.Files.writeString(java.nio.file.Path.of("out.txt"), "data");'),
    "compile_error": _JAVA.format("return undeclared;"),
}
PROGRAMS["haskell"] = {
    "echo": "main = getContents >>= putStr",
    "exit3": "import System.Exit\nmain = exitWith (ExitFailure 3)",
    "error": 'main = error "boom"',
    "loop": "import Control.Monad\nmain = forever (return ())",
    "hog": "main = let xs = [1 ..] :: [Integer] in print (length xs + fromIntegral (sum xs))",
    "flood": "main = mapM_ (\\_ -> putStrLn (replicate 100 'a')) [1 ..]",
    "bomb": 'import Control.Monad\nimport System.Process\nmain = forever (spawnCommand "sleep 60")',
    # No sockets in its standard library: the shell it can start tries instead.
    "network": 'import System.Exit\nimport System.Process\nmain = do\n  code <- system "bash -c \'exec 3<>/dev/tcp/1.1.1.1/80\' 2>/dev/null"\n  putStrLn (if code == ExitSuccess then "connected" else "blocked")',
    "file": 'main = writeFile "out.txt" "data"',
    "compile_error": "main = print undeclared",
}
PROGRAMS["typescript"] = {
    "echo": 'const text: string = require("fs").readFileSync(0, "utf8");\nprocess.stdout.write(text);',
    "exit3": "process.exit(3);",
    "error": 'throw new Error("boom");',
    "loop": "for (;;) {}",
    "hog": "const a: any[] = [];\nfor (;;) a.push(Buffer.alloc(1 << 20, 1));",
    "flood": 'const line: string = "a".repeat(100) + "\\n";\nfor (;;) require("fs").writeSync(1, line);',
    "bomb": 'const { spawn } = require("child_process");\nfor (;;) { try { spawn("/bin/sleep", ["60"]); } catch (e) {} }',
    "network": 'require("net").connect(80, "1.1.1.1").on("connect", () => { console.log("connected"); process.exit(); }).on("error", () => console.log("blocked"));',
    "file": 'require("fs").writeFileSync("out.txt", "data");',
    "compile_error": "const n: number = undeclared;",
}
# Output as on a terminal: a line printed, then a long sleep (the line must come meanwhile, and
# stay when the run is stopped); and a line, a prompt without a newline (flushed where the
# language wants that even on a terminal), a line read, a greeting.
LIVE = {
    "python3.13": 'import time\nprint("first")\ntime.sleep(30)',
    "bash": "echo first\nsleep 30",
    "javascript": 'console.log("first");\nsetTimeout(() => {}, 30000);',
    "typescript": 'console.log("first");\nsetTimeout(() => {}, 30000);',
    "ruby": 'puts "first"\nsleep 30',
    "perl": 'print "first\\n";\nsleep 30;',
    "lua": 'print("first")\nos.execute("sleep 30")',
    "php": '<?php\necho "first\\n";\nsleep(30);',
    "r": 'cat("first\\n")\nSys.sleep(30)',
    "c": '#include <stdio.h>\n#include <unistd.h>\nint main(void) { printf("first\\n"); sleep(30); return 0; }',
    "cpp": '#include <iostream>\n#include <unistd.h>\nint main() { std::cout << "first\\n"; sleep(30); }',
    "go": 'package main\nimport ("fmt"; "time")\nfunc main() { fmt.Println("first"); time.Sleep(30 * time.Second) }',
    "rust": 'fn main() { println!("first"); std::thread::sleep(std::time::Duration::from_secs(30)); }',
    "java": _JAVA.format('System.out.println("first"); Thread.sleep(30000);'),
}
# GHC's runtime block-buffers stdout on a pipe, and no switch changes that (the README says so).
NOT_LIVE = {"haskell": "GHC buffers a pipe's output: a program calls hSetBuffering stdout LineBuffering itself"}
PROMPT = {
    "python3.13": 'print("first")\nname = input("Your name? ")\nprint(f"Hello, {name}!")',
    "bash": 'echo first\nprintf "Your name? "\nread -r name\necho "Hello, $name!"',
    "javascript": 'console.log("first");\nconst rl = require("readline").createInterface({ input: process.stdin });\nprocess.stdout.write("Your name? ");\nrl.once("line", (name) => { console.log(`Hello, ${name}!`); rl.close(); });',
    "typescript": 'console.log("first");\nconst rl = require("readline").createInterface({ input: process.stdin });\nprocess.stdout.write("Your name? ");\nrl.once("line", (name: string) => { console.log(`Hello, ${name}!`); rl.close(); });',
    "ruby": 'puts "first"\nprint "Your name? "\nname = gets.chomp\nputs "Hello, #{name}!"',
    "perl": 'print "first\\n";\nprint "Your name? ";\nmy $name = <STDIN>;\nchomp $name;\nprint "Hello, $name!\\n";',
    "lua": 'print("first")\nio.write("Your name? ")\nlocal name = io.read("l")\nprint("Hello, " .. name .. "!")',
    "php": '<?php\necho "first\\n";\necho "Your name? ";\n$name = trim(fgets(STDIN));\necho "Hello, $name!\\n";',
    "r": 'cat("first\\n")\ncat("Your name? ")\nname <- readLines(file("stdin"), n = 1)\ncat("Hello, ", name, "!\\n", sep = "")',
    "c": '#include <stdio.h>\nint main(void) {\n    char name[100];\n    puts("first");\n    printf("Your name? ");\n    if (scanf("%99s", name) != 1) return 1;\n    printf("Hello, %s!\\n", name);\n}',
    "cpp": '#include <iostream>\n#include <string>\nint main() {\n    std::string name;\n    std::cout << "first\\n" << "Your name? ";\n    std::getline(std::cin, name);\n    std::cout << "Hello, " << name << "!\\n";\n}',
    "go": 'package main\nimport ("bufio"; "fmt"; "os"; "strings")\nfunc main() {\n\tfmt.Println("first")\n\tfmt.Print("Your name? ")\n\tname, _ := bufio.NewReader(os.Stdin).ReadString(\'\\n\')\n\tfmt.Printf("Hello, %s!\\n", strings.TrimSpace(name))\n}',
    "rust": 'use std::io::{self, Write};\nfn main() {\n    println!("first");\n    print!("Your name? ");\n    io::stdout().flush().unwrap();\n    let mut name = String::new();\n    io::stdin().read_line(&mut name).unwrap();\n    println!("Hello, {}!", name.trim());\n}',
    "java": _JAVA.format(
        'System.out.println("first"); System.out.print("Your name? "); String name = new java.util.Scanner(System.in).nextLine(); System.out.println("Hello, " + name + "!");'
    ),
    "haskell": 'import System.IO\nmain = do\n  putStrLn "first"\n  putStr "Your name? "\n  hFlush stdout\n  name <- getLine\n  putStrLn ("Hello, " ++ name ++ "!")',
}
for _runtime, _source in LIVE.items():
    PROGRAMS[_runtime]["live"] = _source  # pypy3's are python3.13's
for _runtime, _source in PROMPT.items():
    PROGRAMS[_runtime]["prompt"] = _source
for _runtime, _source in HELLO.items():  # one hello world in each, the bench's too
    PROGRAMS[_runtime]["hello"] = _source
CASES = (
    "hello",
    "echo",
    "typed",
    "live",
    "prompt",
    "exit3",
    "error",
    "compile_error",
    "loop",
    "hog",
    "flood",
    "bomb",
    "network",
    "file",
)
LANGUAGE_OF = {language.runtime: language for language in LANGUAGES}


@pytest.fixture(scope="module")
def runner():
    runner = LocalRunner(languages=True)
    yield runner
    runner.launchers.close()


def start(runner, runtime: str, case: str, *, interactive: bool = False, **limits) -> tuple[Followed, Sink]:
    if runtime not in runner.runtimes():
        pytest.skip(f"{runtime} is not installed here (make RUNTIMES={runtime} installs it)")
    source = textwrap.dedent(PROGRAMS[runtime][case])
    stdin = "" if interactive else "one\ntwo\n"
    spec = RunSpec(
        "conformance",
        source,
        stdin,
        runtime,
        replace(LIMITS, **limits),
        file_caps=CAPS,
        compile_limits=COMPILE,
        interactive=interactive,
    )
    sink = Sink()
    return Followed(runner.start(spec, sink)), sink


def run(runner, runtime: str, case: str, *, typed: tuple[str, ...] | None = None, **limits):
    """Run one case; with ``typed``, interactively: the texts are typed, then end of file."""
    sandbox, sink = start(runner, runtime, case, interactive=typed is not None, **limits)
    for text in typed or ():
        sandbox.feed(text.encode())
    if typed is not None:
        sandbox.end_input()
    result = sandbox.wait()
    return result, sink.text(), sink.text(Stream.STDERR)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("runtime", list(PROGRAMS))
def test_conformance(runner, runtime, case):
    compiled = runtime in LANGUAGE_OF and LANGUAGE_OF[runtime].compiled
    if case == "compile_error" and not compiled:
        pytest.skip(f"{runtime} is not compiled")
    check = globals()[f"check_{case}"]
    check(runner, runtime)


def check_hello(runner, runtime):
    result, out, err = run(runner, runtime, "hello")
    assert (result.error_type, result.exit_code, out) == (None, 0, "Hello, world!\n"), err


def check_echo(runner, runtime):
    result, out, err = run(runner, runtime, "echo")
    assert (result.error_type, out) == (None, "one\ntwo\n"), err


def check_typed(runner, runtime):
    """Interactive: typed while it runs (or builds), then end of file."""
    result, out, err = run(runner, runtime, "echo", typed=("one\n", "two\n"))
    assert (result.error_type, out) == (None, "one\ntwo\n"), err


def check_live(runner, runtime):
    """A line comes as it is printed (the program sleeps on), and stays when the run is stopped."""
    if runtime in NOT_LIVE:
        pytest.skip(NOT_LIVE[runtime])
    sandbox, sink = start(runner, runtime, "live", wall_seconds=40)
    try:
        sink.wait_for("first\n", timeout=BUILT_AND_STARTED_SECONDS)
    finally:
        sandbox.stop()
    result = sandbox.wait()
    assert (result.error_type, sink.text()) == (ErrorType.CANCELLED, "first\n"), sink.text(Stream.STDERR)


def check_prompt(runner, runtime):
    """Interactive: the line and the prompt come before anything is typed, as on a terminal."""
    sandbox, sink = start(runner, runtime, "prompt", interactive=True)
    try:
        sink.wait_for("first\nYour name? ", timeout=BUILT_AND_STARTED_SECONDS)
    except AssertionError:
        sandbox.stop()
        sandbox.wait()
        raise
    assert sandbox.feed(b"Ada\n")
    sandbox.end_input()
    result = sandbox.wait()
    assert (result.error_type, sink.text()) == (None, "first\nYour name? Hello, Ada!\n"), sink.text(Stream.STDERR)


def check_exit3(runner, runtime):
    result, _, err = run(runner, runtime, "exit3")
    assert (result.error_type, result.exit_code) == (ErrorType.RUNTIME_ERROR, 3), err


def check_error(runner, runtime):
    result, _, err = run(runner, runtime, "error")
    assert result.error_type == ErrorType.RUNTIME_ERROR and "boom" in err, (result, err)


def check_compile_error(runner, runtime):
    result, out, err = run(runner, runtime, "compile_error")
    assert result.error_type == ErrorType.COMPILE_ERROR, (result, err)
    assert "undeclared" in err and out == "" and result.compile_ms is not None


def check_loop(runner, runtime):
    result, _, err = run(runner, runtime, "loop", wall_seconds=2, cpu_seconds=1)
    assert result.error_type == ErrorType.TIMEOUT, (result, err)


def check_hog(runner, runtime):
    result, _, err = run(runner, runtime, "hog", memory_mb=64)
    assert result.error_type == ErrorType.MEMORY_LIMIT, (result, err[-500:])


def check_flood(runner, runtime):
    result, out, _ = run(runner, runtime, "flood", output_bytes=16 * 1024)
    assert result.error_type == ErrorType.OUTPUT_LIMIT and len(out.encode()) <= 16 * 1024, result


def check_bomb(runner, runtime):
    """Contained: it ends by its wall limit at the latest (with everything it started), and is
    never taken for our failure. (A bash bomb's first shell exits at once: a success.)"""
    result, _, err = run(runner, runtime, "bomb", wall_seconds=2, cpu_seconds=2, processes=16)
    assert result.error_type is not ErrorType.SYSTEM_ERROR, (result, err[-500:])
    assert result.duration_ms <= 2000 + 1000, result


def check_network(runner, runtime):
    result, out, err = run(runner, runtime, "network")
    assert out == "blocked\n", (result, out, err)


def check_file(runner, runtime):
    result, _, err = run(runner, runtime, "file")
    assert result.error_type is None, (result, err)
    assert [(file.name, file.data) for file in result.files] == [("out.txt", b"data")]
