"""`make bench`: start-up, latency and throughput of sandboxed runs against bare `python`, and
where a run's CPU time goes.

A sandboxed hello is timed as a run sees it, on a sandbox the runner started ahead, and
again cold (each run building its own sandbox), so both figures are on record.

Every figure is measured in the same run as its baseline, so ratios hold on any machine.
Results are printed and written to bench/results/latest.json and latest.md.
"""

import json
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.cpu import children_cpu, server_cpu, template_cpu
from bench.data import IMPORTS as DATA_IMPORTS
from bench.data import data_script
from bench.kubernetes_pool import kubernetes_pool
from bench.languages import languages
from bench.server import BenchServer
from bench.stats import summary_ms, timed
from bench.websocket import first_byte

RESULTS = Path(__file__).resolve().parent / "results"
HELLO = "print('hello')"
SEQUENTIAL_RUNS = 60
THROUGHPUT_RUNS = 200
THROUGHPUT_CLIENTS = 8

TARGETS = {
    "sandboxed_hello_ratio": ("<=", 2.0),
    "sandbox_cpu_ratio": ("<=", 0.5),
    "submit_to_completed_p50_ms": ("<=", 60.0),
    "throughput_ratio": (">=", 0.6),
    "ws_first_byte_p50_ms": ("<=", 40.0),
    "data_script_ratio": ("<=", 0.1),
    "k8s_warm_p50_ms": ("<=", 150.0),  # the warm pool, on the fake API server with a 0.8 s pod start
}


def bare_python() -> str:
    import os

    return os.path.realpath(sys._base_executable)


def run_bare(python: str) -> None:
    subprocess.run([python, "-I", "-c", "pass"], check=True)


def startup(runs: int = 40) -> dict:
    """Bare `python -I -c pass` against a sandboxed hello through the local runner, interleaved,
    at each isolation level this machine has: warm (on sandboxes started ahead, as runs are
    served) and cold (each run building its own). The CPU figures are the host's: a warm run's
    own (as the run reports it, measured from its cgroup) and a cold run's whole life (its
    sandbox's start included, from the processes this bench starts and reaps)."""
    import django

    django.setup()
    from executions.runners.local.runner import LocalRunner

    python = bare_python()
    results, bare = {}, []
    for level in available_levels():
        runner = LocalRunner(isolation=level)
        runner.wait_for_templates(timeout=120)  # bubblewrap as root: every warm run is a fork
        results[level] = one_level(runner, level, runs, bare, python)
    ratio = statistics.median(results["bubblewrap"]["warm"]) / statistics.median(bare)
    cold_ratio = statistics.median(results["bubblewrap"]["cold"]) / statistics.median(bare)
    sandbox_cpu, bare_cpu = results["bubblewrap"]["sandbox_cpu_ms"], results["bubblewrap"]["bare_cpu_ms"]
    return {
        "bare_python": summary_ms(bare),
        "sandboxed_hello_ratio": round(ratio, 2),
        "sandboxed_hello_cold_ratio": round(cold_ratio, 2),
        "sandbox_cpu_ms_per_run": sandbox_cpu,
        "bare_python_cpu_ms_per_run": bare_cpu,
        "sandbox_cpu_ratio": round(sandbox_cpu / bare_cpu, 2),
        "isolation": {level: level_figures(figures, bare) for level, figures in results.items()},
    }


def available_levels() -> list[str]:
    import os
    import shutil

    return ["bubblewrap", *(["gvisor"] if os.geteuid() == 0 and shutil.which("runsc") else [])]


def one_level(runner, level: str, runs: int, bare: list[float], python: str) -> dict:
    from executions.limits import limit_caps
    from executions.runners.base import RunSpec

    spec = RunSpec(
        execution_id="bench", script=HELLO, stdin="", runtime=next(iter(runner.runtimes())), limits=limit_caps()
    )
    sink = type("Sink", (), {"write": lambda self, stream, text: None})()
    warm, cold, run_cpu = [], [], []

    def hello() -> None:
        result = runner.start(spec, sink).wait()
        if not result.succeeded:
            raise RuntimeError(f"hello failed under {level}: {result}")
        run_cpu.append(result.cpu_ms)

    hello()  # the pool fills for this kind of sandbox once it has been asked for one
    for _ in range(runs):
        if level == "bubblewrap":
            bare.append(timed(lambda: run_bare(python)))
        warm.append(timed(hello))
    # The sandboxes' whole CPU per run: arming (the fork, its namespaces, mounts and filter)
    # included, read from the templates (which reap every fork) and from the sandboxes reaped.
    with template_cpu() as templates, children_cpu() as reaped:
        for _ in range(runs):
            hello()
    with children_cpu() as bare_cpu:
        for _ in range(runs):
            run_bare(python)
    runner.launchers.close()  # from here every run builds its own sandbox and waits for it
    runner.templates.close()
    with children_cpu() as lifetime:
        for _ in range(runs):
            cold.append(timed(hello))
    return {
        "warm": warm,
        "cold": cold,
        "run_cpu_ms": run_cpu[1 : runs + 1],
        "lifetime_cpu_ms": lifetime.per_run_ms(runs)[0],
        "sandbox_cpu_ms": round(templates.per_run_ms(runs)[0] + reaped.per_run_ms(runs)[0], 1),
        "bare_cpu_ms": bare_cpu.per_run_ms(runs)[0],
    }


def level_figures(figures: dict, bare: list[float]) -> dict:
    base = statistics.median(bare)
    return {
        "hello_warm": summary_ms(figures["warm"]),
        "hello_cold": summary_ms(figures["cold"]),
        "warm_ratio": round(statistics.median(figures["warm"]) / base, 2),
        "cold_ratio": round(statistics.median(figures["cold"]) / base, 2),
        "run_cpu_ms_p50": statistics.median(figures["run_cpu_ms"]),
        "cold_lifetime_cpu_ms": figures["lifetime_cpu_ms"],
        "warm_sandbox_cpu_ms": figures["sandbox_cpu_ms"],
    }


def submit_and_wait(client: httpx.Client) -> dict:
    body = client.post("/api/v1/executions?wait=true", json={"script": HELLO}).json()
    if body["status"] != "completed":
        raise RuntimeError(f"hello did not complete: {body}")
    return body


def latency(server: BenchServer) -> dict:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(5):
            submit_and_wait(client)  # warm-up
        samples = [timed(lambda: submit_and_wait(client)) for _ in range(SEQUENTIAL_RUNS)]
    figures = summary_ms(samples)
    return {"submit_to_completed": figures, "submit_to_completed_p50_ms": figures["p50_ms"]}


def throughput(server: BenchServer) -> dict:
    """The rates, and the CPU time per run behind them (a sandboxed run's is split into the
    server's own, its sandboxes' and the store's)."""
    python = bare_python()
    with (
        httpx.Client(
            base_url=server.url, timeout=60, limits=httpx.Limits(max_connections=THROUGHPUT_CLIENTS)
        ) as client,
        ThreadPoolExecutor(THROUGHPUT_CLIENTS) as pool,
        server_cpu(server.process.pid) as api_cpu,
    ):
        api_seconds = timed(lambda: list(pool.map(lambda _: submit_and_wait(client), range(THROUGHPUT_RUNS))))
    hello = [python, "-I", "-c", HELLO]
    with ThreadPoolExecutor(THROUGHPUT_CLIENTS) as pool, children_cpu() as bare_cpu:
        bare_seconds = timed(
            lambda: list(
                pool.map(lambda _: subprocess.run(hello, capture_output=True, check=True), range(THROUGHPUT_RUNS))
            )
        )
    api_rate, bare_rate = THROUGHPUT_RUNS / api_seconds, THROUGHPUT_RUNS / bare_seconds
    cpu = dict(zip(("web", "sandboxes", "store"), api_cpu.per_run_ms(THROUGHPUT_RUNS), strict=True))
    cpu.update(total=round(sum(cpu.values()), 1), bare=bare_cpu.per_run_ms(THROUGHPUT_RUNS)[0])
    return {
        "api_executions_per_second": round(api_rate, 1),
        "bare_runs_per_second": round(bare_rate, 1),
        "throughput_ratio": round(api_rate / bare_rate, 2),
        "runs": THROUGHPUT_RUNS,
        "clients": THROUGHPUT_CLIENTS,
        "cpu_ms_per_run": cpu,
    }


def verdicts(results: dict) -> dict:
    flat = {k: v for section in results.values() if isinstance(section, dict) for k, v in section.items()}
    return {
        name: {
            "value": flat[name],
            "target": f"{op} {bound}",
            "met": flat[name] <= bound if op == "<=" else flat[name] >= bound,
        }
        for name, (op, bound) in TARGETS.items()
        if name in flat
    }


def markdown(results: dict) -> str:
    lines = ["| figure | value | target | met |", "|---|---|---|---|"]
    for name, verdict in results["targets"].items():
        lines.append(f"| {name} | {verdict['value']} | {verdict['target']} | {'yes' if verdict['met'] else 'NO'} |")
    lines += ["", "| measurement | n | p50 ms | p95 ms | min ms |", "|---|---|---|---|---|"]
    for section in results.values():
        for name, value in section.items() if isinstance(section, dict) else ():
            if isinstance(value, dict) and "p50_ms" in value:
                lines.append(f"| {name} | {value['n']} | {value['p50_ms']} | {value['p95_ms']} | {value['min_ms']} |")
    cpu = results["throughput"]["cpu_ms_per_run"]
    lines += [
        "",
        "| CPU ms per run (throughput) | " + " | ".join(cpu) + " |",
        "|---" * (len(cpu) + 1) + "|",
        "| 200 at 8 clients | " + " | ".join(str(value) for value in cpu.values()) + " |",
    ]
    lines += [
        "",
        "| isolation level | hello warm p50 ms | × bare | hello cold p50 ms | × bare | run CPU ms (p50) "
        "| warm sandbox's whole CPU ms | cold run's whole CPU ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for level, figures in results["startup"]["isolation"].items():
        lines.append(
            f"| {level} | {figures['hello_warm']['p50_ms']} | {figures['warm_ratio']} | "
            f"{figures['hello_cold']['p50_ms']} | {figures['cold_ratio']} | {figures['run_cpu_ms_p50']} | "
            f"{figures['warm_sandbox_cpu_ms']} | {figures['cold_lifetime_cpu_ms']} |"
        )
    startup = results["startup"]
    bare = startup["bare_python"]
    bare_cpu = startup["bare_python_cpu_ms_per_run"]
    lines.append(f"| bare `python -I -c pass` | {bare['p50_ms']} | 1.0 | | | | {bare_cpu} | |")
    data = results["data"]
    lines += [
        "",
        "| data runtime (pandas + matplotlib script, CSV in, PNG and CSV out) | p50 ms | p95 ms | × bare |",
        "|---|---|---|---|",
        f"| submit -> completed | {data['data_script_submit_to_completed']['p50_ms']} | "
        f"{data['data_script_submit_to_completed']['p95_ms']} | {data['data_script_ratio']} |",
        f'| bare `python -c "{DATA_IMPORTS}"` | '
        f"{data['bare_data_imports']['p50_ms']} | {data['bare_data_imports']['p95_ms']} | 1.0 |",
    ]
    lines += [
        "",
        "| language: hello | submit -> completed p50 ms | bare toolchain p50 ms (built and run) | run alone | × bare |",
        "|---|---|---|---|---|",
    ]
    for runtime, figures in results["languages"].items():
        alone = figures["bare_run_alone_p50_ms"]
        lines.append(
            f"| {runtime} | {figures['submit_to_completed_p50_ms']} | {figures['bare_p50_ms']} | "
            f"{'' if alone is None else alone} | {figures['ratio']} |"
        )
    pool = results["kubernetes_pool"]
    lines += [
        "",
        f"| Kubernetes (fake API server, pod start {pool['k8s_pod_start_s']} s): hello | submit -> completed p50 ms "
        "| p95 ms | API calls per execution |",
        "|---|---|---|---|",
        f"| a new pod per run | {pool['k8s_cold_submit_to_completed']['p50_ms']} | "
        f"{pool['k8s_cold_submit_to_completed']['p95_ms']} | {pool['k8s_cold_api_calls_per_execution']} |",
        f"| an idle pod of the warm pool | {pool['k8s_warm_submit_to_completed']['p50_ms']} | "
        f"{pool['k8s_warm_submit_to_completed']['p95_ms']} | {pool['k8s_warm_api_calls_per_execution']} |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    import os
    import tempfile

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integr8scode.settings")
    # The bench process runs sandboxes itself but must not touch a running server's data.
    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="integr8scode-bench-")
    results = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
    }
    with BenchServer() as server:
        results["latency"] = latency(server)
        results["throughput"] = throughput(server)
        results["websocket"] = first_byte(server)
        results["data"] = data_script(server)
    with BenchServer(RUNTIMES="all") as server:
        results["languages"] = languages(server)
    results["kubernetes_pool"] = kubernetes_pool()
    results["startup"] = startup()
    results["targets"] = verdicts(results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
