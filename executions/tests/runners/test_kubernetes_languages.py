"""Other languages on Kubernetes, against the fake API server (its kubelet runs the real entry
with this machine's toolchains, at the image's paths): an interpreted one (JavaScript) and a
compiled one (C), whose build runs in the pod's init container with the build's limits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from executions.runners import languages
from executions.runners.base import ErrorType, Limits, Stream
from executions.runners.kubernetes import manifests
from executions.tests.runners.test_kubernetes_scenarios import RecordingSink, spec, validate_manifest

IMAGES = {"c": "registry.example/runtime-c:12.2.0", "javascript": "registry.example/runtime-javascript:18.19.0"}
COMPILE = Limits(wall_seconds=30, cpu_seconds=30, memory_mb=512, processes=64, disk_mb=256, output_bytes=64 << 10)
HELLO_C = '#include <stdio.h>\nint main(void) { printf("Hello, world!\\n"); return 0; }\n'
ECHO_C = (
    "#include <stdio.h>\n"
    'int main(void) { char line[64]; if (fgets(line, sizeof line, stdin)) printf("got %s", line); return 3; }\n'
)


@pytest.fixture
def runner(make_runner):
    missing = [name for name in IMAGES if name not in languages.installed()]
    if missing:
        pytest.skip(
            f"toolchains not installed here: {', '.join(missing)} (make languages RUNTIMES={' '.join(missing)})"
        )
    return make_runner(runtime_images=IMAGES)


def run_in(runner, runtime: str, script: str, **kwargs):
    sink = RecordingSink()
    run_spec = replace(spec(script, **kwargs), runtime=runtime, compile_limits=COMPILE)
    return runner.start(run_spec, sink).wait(), sink


def test_the_runtimes_say_what_the_images_hold(runner):
    found = runner.runtimes()
    c, javascript = found["c"], found["javascript"]
    assert (c.language, c.version, c.compiled, c.source_file, c.interactive) == ("c", "12.2.0", True, "main.c", False)
    assert (javascript.language, javascript.version, javascript.compiled) == ("javascript", "18.19.0", False)


def test_javascript_runs_with_stdin_and_its_exit_code(runner, fake):
    result, sink = run_in(runner, "javascript", 'console.log("Hello, world!")')
    assert result.succeeded and sink.text(Stream.STDOUT) == "Hello, world!\n"
    script = 'const s = require("fs").readFileSync(0, "utf8"); console.log(s.trim().toUpperCase()); process.exit(3)'
    result, sink = run_in(runner, "javascript", script, stdin="quiet\n")
    assert sink.text(Stream.STDOUT) == "QUIET\n"
    assert (result.error_type, result.exit_code) == (ErrorType.RUNTIME_ERROR, 3)
    pods = [body for body in fake.created if body["kind"] == "Pod"]
    assert all("initContainers" not in pod["spec"] for pod in pods)  # nothing to build
    command = pods[0]["spec"]["containers"][0]["command"]
    assert any(arg.startswith("run=") for arg in command) and "script=/sandbox/main.js" in command


def test_c_is_built_in_an_init_container_with_the_builds_limits_then_run_with_the_programs(runner, fake):
    result, sink = run_in(runner, "c", HELLO_C)
    assert result.succeeded, result
    assert sink.text(Stream.STDOUT) == "Hello, world!\n"
    assert result.compile_ms is not None and result.compile_ms >= 0
    (pod,) = [body for body in fake.created if body["kind"] == "Pod"]
    validate_manifest(pod)
    (build,) = pod["spec"]["initContainers"]
    (program,) = pod["spec"]["containers"]
    assert build["name"] == manifests.BUILD_CONTAINER and "build_only=1" in build["command"]
    assert build["resources"]["limits"]["memory"] == f"{COMPILE.memory_mb}Mi"
    assert program["resources"]["limits"]["memory"] == f"{spec('').limits.memory_mb}Mi"
    assert not any(arg.startswith("build=") for arg in program["command"])
    assert build["securityContext"] == program["securityContext"] and build["volumeMounts"] == program["volumeMounts"]
    # The deadline allows for the build, then the run.
    assert pod["spec"]["activeDeadlineSeconds"] >= COMPILE.wall_seconds + spec("").limits.wall_seconds


def test_c_reads_stdin_and_reports_its_exit_code(runner):
    result, sink = run_in(runner, "c", ECHO_C, stdin="ada\n")
    assert sink.text(Stream.STDOUT) == "got ada\n"
    assert (result.error_type, result.exit_code) == (ErrorType.RUNTIME_ERROR, 3)


def test_a_c_compile_error_fails_with_the_compilers_messages_and_the_program_never_starts(runner, fake):
    result, sink = run_in(runner, "c", "int main(void) { return undeclared; }\n")
    assert result.error_type is ErrorType.COMPILE_ERROR, result
    assert "undeclared" in sink.text(Stream.STDERR) and "error" in sink.text(Stream.STDERR)
    assert result.compile_ms is not None
    assert not fake.logs[result.extra["pod"]].data  # the program's container never ran


def test_a_compiled_runtime_cannot_be_pooled(make_runner):
    from dataclasses import asdict

    from executions.runners.base import RunnerError

    with pytest.raises(RunnerError, match="c is compiled"):
        make_runner(
            runtime_images=IMAGES, pool=[{"runtime": "c", "idle": 1, "limits": asdict(COMPILE), "file_caps": None}]
        )
