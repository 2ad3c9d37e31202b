"""The runner's scenarios against a real cluster: they run when KUBECONFIG points at a
cluster with the sandbox namespace (install the Helm chart first), and are skipped otherwise.

The runtime image comes from INTEGR8SCODE_TEST_RUNTIME_IMAGE (built from
deploy/images/runtime-python.Dockerfile and loaded into the cluster, as the CI's kind job does).
"""

from __future__ import annotations

import os

import pytest
from kubernetes import client

from executions.runners.base import ErrorType, Stream
from executions.runners.kubernetes import status
from executions.runners.kubernetes.client import load_api_client
from executions.runners.kubernetes.runner import KubernetesRunner
from executions.tests.runners.test_kubernetes_languages import HELLO_C, run_in
from executions.tests.runners.test_kubernetes_pool import SCENARIO_SHAPES, WarmOnly
from executions.tests.runners.test_kubernetes_pool import tier as pool_tier
from executions.tests.runners.test_kubernetes_scenarios import RunnerScenarios, run

KUBECONFIG = os.environ.get("KUBECONFIG", "")
NAMESPACE = os.environ.get("KUBERNETES_NAMESPACE", "integr8scode-sandbox")
RUNTIME_IMAGE = os.environ.get("INTEGR8SCODE_TEST_RUNTIME_IMAGE", "integr8scode/runtime-python:3.13")
PULL_POLICY = os.environ.get("INTEGR8SCODE_TEST_PULL_POLICY", "IfNotPresent")
# Other languages' images loaded into the cluster, "c=image,javascript=image" (the CI's kind job).
LANGUAGE_IMAGES = os.environ.get("INTEGR8SCODE_TEST_LANGUAGE_IMAGES", "")
# Only where the CNI enforces NetworkPolicies (kind >= 0.24, Calico, Cilium...).
NETWORK_POLICY_ENFORCED = os.environ.get("INTEGR8SCODE_TEST_NETWORK_POLICY") == "1"

pytestmark = pytest.mark.skipif(not KUBECONFIG, reason="KUBECONFIG is not set: there is no cluster to run against")


def _namespace_exists() -> bool:
    core = client.CoreV1Api(load_api_client(kubeconfig=KUBECONFIG, context=None))
    try:
        core.read_namespace(NAMESPACE)
        return True
    except client.exceptions.ApiException as exc:
        if exc.status == 404:
            return False
        raise


@pytest.fixture(scope="module")
def cluster():
    if not _namespace_exists():
        pytest.skip(f"namespace {NAMESPACE} does not exist in the cluster of KUBECONFIG: install the chart first")


@pytest.fixture
def make_runner(cluster):
    def make(**options) -> KubernetesRunner:
        defaults = {
            "kubeconfig": KUBECONFIG,
            "namespace": NAMESPACE,
            "image_pull_policy": PULL_POLICY,
            "runtime_images": {"python3.13": RUNTIME_IMAGE},
            "image_pull_timeout": 120,
        }
        return KubernetesRunner(**{**defaults, **options})

    return make


@pytest.fixture
def runner(make_runner):
    return make_runner()


class TestAgainstARealCluster(RunnerScenarios):
    pass


class TestWarmPodsOnARealCluster(RunnerScenarios):
    """The same scenarios, each run in an idle pod of the warm pool, delivered over attach."""

    @pytest.fixture
    def runner(self, make_runner):
        shapes = [pool_tier(limits, caps) for limits, caps in SCENARIO_SHAPES]
        warm = make_runner(pool=shapes, pool_owner="cluster-test")
        warm.prepare()
        yield WarmOnly(warm)
        warm.close()


def test_a_container_that_outgrows_its_memory_limit_fails_with_memory_limit(runner):
    # Touched pages, below the entry's address-space cap: the cgroup's OOM killer decides.
    script = "chunks = []\nfor _ in range(40):\n    chunks.append(b'x' * (10 << 20))\nprint('survived')"
    result, sink = run(runner, script, memory_mb=64)
    assert (result.error_type, result.message) == (ErrorType.MEMORY_LIMIT, status.MEMORY_EXCEEDED)
    assert "survived" not in sink.text(Stream.STDOUT)


def test_an_image_that_cannot_be_pulled_fails_after_the_bounded_wait(make_runner):
    runner = make_runner(
        runtime_images={"python3.13": "registry.invalid/integr8scode/nothing:1"},
        image_pull_policy="IfNotPresent",
        image_pull_timeout=20,
    )
    result, _ = run(runner, "print(1)")
    assert result.error_type == ErrorType.SYSTEM_ERROR
    assert result.message.startswith(status.IMAGE_PULL_FAILED.split("{")[0])


def test_the_script_runs_as_an_unprivileged_user_on_a_read_only_root(runner):
    script = (
        "import os\n"
        "print(os.getuid() != 0)\n"
        "root = [line.split() for line in open('/proc/self/mounts') if line.split()[1] == '/']\n"
        "print('ro' in root[-1][3].split(','))\n"
        "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])\n"
    )
    result, sink = run(runner, script)
    assert sink.text(Stream.STDOUT) == "True\nTrue\n0000000000000000\n", sink.text(Stream.STDERR)


@pytest.mark.skipif(not NETWORK_POLICY_ENFORCED, reason="INTEGR8SCODE_TEST_NETWORK_POLICY=1 not set")
def test_the_sandbox_cannot_reach_the_network(runner):
    script = (
        "import os, socket\n"
        "host = os.environ.get('KUBERNETES_SERVICE_HOST', '10.96.0.1')\n"
        "try:\n    socket.create_connection((host, 443), timeout=3)\n    print('connected')\n"
        "except OSError:\n    print('blocked')\n"
    )
    result, sink = run(runner, script)
    assert sink.text(Stream.STDOUT) == "blocked\n"


@pytest.mark.skipif(not LANGUAGE_IMAGES, reason="INTEGR8SCODE_TEST_LANGUAGE_IMAGES not set: no language images to run")
def test_an_interpreted_and_a_compiled_language_run_on_the_cluster(make_runner):
    images = dict(pair.split("=", 1) for pair in LANGUAGE_IMAGES.split(","))
    runner = make_runner(runtime_images=images)
    result, sink = run_in(runner, "javascript", 'console.log("Hello, world!")')
    assert result.succeeded and sink.text(Stream.STDOUT) == "Hello, world!\n", result
    result, sink = run_in(runner, "c", HELLO_C)
    assert result.succeeded and sink.text(Stream.STDOUT) == "Hello, world!\n", result
    assert result.compile_ms is not None
    result, sink = run_in(runner, "c", "int main(void) { return undeclared; }\n")
    assert result.error_type is ErrorType.COMPILE_ERROR and "undeclared" in sink.text(Stream.STDERR)
