"""The Kubernetes runner's warm pool in `make bench`: a hello, submit -> completed through the API
of a server whose runner is the Kubernetes one, pointed at the fake API server (its kubelet
runs the real entry) with a simulated pod start of 0.8 s, without the pool and with it, and
how many API calls each execution took (the pool's upkeep included: its claim, its refill,
its listings)."""

import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.server import BenchServer
from bench.stats import summary_ms, timed

POD_START = 0.8  # seconds a pod spends in ContainerCreating
RUNS = 12
IDLE = 2


def kubernetes_pool() -> dict:
    from executions.runners.kubernetes import pool_objects
    from executions.tests.runners.fake_kube_api import FakeKubeApi, Run

    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeKubeApi(Path(tmp), Run(start_delay=POD_START)).start()
        env = {
            "EXECUTION_RUNNER": "kubernetes",
            "KUBERNETES_KUBECONFIG": str(fake.write_kubeconfig(Path(tmp) / "kubeconfig")),
            "KUBERNETES_NAMESPACE": "sandbox",
            "KUBERNETES_RUNTIME_IMAGES": "python3.13=bench/runtime-python:3.13",
        }
        figures = {}
        try:
            for name, pool in (("cold", {}), ("warm", {"KUBERNETES_POOL": f"python3.13={IDLE}"})):
                with BenchServer(**env, **pool) as server:

                    def idle_running() -> int:
                        return sum(
                            pool_objects.is_idle(pod) and pod["status"].get("phase") == "Running"
                            for pod in list(fake.pods.values())
                        )

                    figures[name] = one_mode(server, fake, idle_running if pool else None)
        finally:
            fake.close()
    cold, warm = figures["cold"], figures["warm"]
    return {
        "k8s_pod_start_s": POD_START,
        "k8s_cold_submit_to_completed": cold["timings"],
        "k8s_warm_submit_to_completed": warm["timings"],
        "k8s_warm_p50_ms": warm["timings"]["p50_ms"],
        "k8s_cold_api_calls_per_execution": cold["calls"],
        "k8s_warm_api_calls_per_execution": warm["calls"],
        "k8s_warm_api_calls_by_kind": warm["by_kind"],
    }


def one_mode(server: BenchServer, fake, idle_running) -> dict:
    samples = []
    with httpx.Client(base_url=server.url, timeout=60) as client:

        def hello() -> None:
            body = client.post("/api/v1/executions?wait=true", json={"script": "print('hello')"}).json()
            if body["status"] != "completed" or body["output"] != "hello\n":
                raise RuntimeError(f"a hello on the fake cluster did not complete: {body}")

        settle(idle_running)
        hello()  # the first request pays for the server's own warm-up
        settle(idle_running)
        first = len(fake.requests)
        for _ in range(RUNS):
            settle(idle_running)  # a pool that keeps up: each run finds an idle pod ready
            samples.append(timed(hello))
        settle(idle_running)
        requests = fake.requests[first:]
    kinds = Counter(f"{method} {_kind(path)}" for method, path in requests)
    return {
        "timings": summary_ms(samples),
        "calls": round(len(requests) / RUNS, 1),
        "by_kind": {kind: round(count / RUNS, 1) for kind, count in sorted(kinds.items())},
    }


def settle(idle_running, timeout: float = 30) -> None:
    """Until the pool has its idle pods running again (its refill, a pod start, takes ~1 s)."""
    if idle_running is None:
        return
    deadline = time.monotonic() + timeout
    while idle_running() < 2 * IDLE:  # the signed-in and the anonymous shape
        if time.monotonic() > deadline:
            raise RuntimeError("the warm pool did not refill")
        time.sleep(0.05)


def _kind(path: str) -> str:
    parts = path.split("/")
    # /api/v1/namespaces/<ns>/<resource>[/<name>[/<subresource>]]
    resource = parts[5] if len(parts) > 5 else path
    return resource + (f"/{parts[7]}" if len(parts) > 7 else "")
