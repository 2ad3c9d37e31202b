"""Every language in `make bench`: a hello world, submit -> completed through the API, next to
the same program run by its bare toolchain in the same run (for a compiled one: built and run,
and run alone), p50 of each."""

import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx

from bench.stats import summary_ms, timed
from executions.runners.languages import BUILD_DIR, HELLO, LANGUAGES, SOURCE_DIR

RUNS = 8
WARM_UP = 2


def submit_and_wait(client: httpx.Client, runtime: str) -> None:
    body = client.post("/api/v1/executions?wait=true", json={"script": HELLO[runtime], "runtime": runtime}).json()
    if body["status"] != "completed" or body["output"] != "Hello, world!\n":
        raise RuntimeError(f"{runtime}'s hello did not complete: {body}")


def bare(language, directory: Path) -> tuple[list[float], list[float]]:
    """(build and run, run alone) timings of the toolchain outside any sandbox."""
    build = directory / "build"
    (directory / language.source).write_text(HELLO[language.runtime])
    for name, content in language.support.items():
        (directory / name).write_text(content)

    def command(template):
        parts = language.command(template)
        return [part.replace(SOURCE_DIR, str(directory)).replace(BUILD_DIR, str(build)) for part in parts]

    environment = {"PATH": "/usr/bin:/bin", "HOME": str(directory), "LANG": "C.UTF-8"}
    environment |= {name: value.replace(BUILD_DIR, str(build)) for name, value in language.environment.items()}

    def build_and_run():  # from nothing, as in a sandbox: no objects or caches of the last build
        shutil.rmtree(build, ignore_errors=True)
        build.mkdir()
        if language.compiled:
            subprocess.run(command(language.build), env=environment, check=True, capture_output=True)
        subprocess.run(command(language.run), env=environment, check=True, capture_output=True)

    both = [timed(build_and_run) for _ in range(RUNS)]
    alone = (
        [
            timed(lambda: subprocess.run(command(language.run), env=environment, check=True, capture_output=True))
            for _ in range(RUNS)
        ]
        if language.compiled
        else []
    )
    return both, alone


def languages(server) -> dict:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        served = {runtime["name"] for runtime in client.get("/api/v1/runtimes").json()["runtimes"]}
        figures = {}
        for language in LANGUAGES:
            if language.runtime not in served:
                continue
            for _ in range(WARM_UP):
                submit_and_wait(client, language.runtime)
            api = [timed(lambda runtime=language.runtime: submit_and_wait(client, runtime)) for _ in range(RUNS)]
            with tempfile.TemporaryDirectory() as directory:
                both, alone = bare(language, Path(directory))
            api_p50, bare_p50 = summary_ms(api)["p50_ms"], summary_ms(both)["p50_ms"]
            figures[language.runtime] = {
                "submit_to_completed_p50_ms": api_p50,
                "bare_p50_ms": bare_p50,
                "bare_run_alone_p50_ms": summary_ms(alone)["p50_ms"] if alone else None,
                "ratio": round(api_p50 / bare_p50, 2),
            }
    return figures
