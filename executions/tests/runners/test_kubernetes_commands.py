"""``manage.py render_pod`` and ``manage.py reap_sandboxes``, and the runner's settings from env."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.test import override_settings

from executions.documents import Execution, Status
from executions.management.commands import reap_sandboxes, render_pod
from executions.runners import base
from executions.runners.base import BaseRunner
from executions.runners.kubernetes.runner import KubernetesRunner
from executions.tests.factories import make_execution, make_running
from executions.tests.runners.fake_kube_api import FakeKubeApi, Stuck
from executions.tests.runners.test_kubernetes_scenarios import RecordingSink, spec, validate_manifest

BASE_DIR = Path(__file__).resolve().parents[3]
KUBERNETES = {
    "BACKEND": render_pod.KUBERNETES_BACKEND,
    "OPTIONS": {"runtime_images": {"python3.13": "repo/runtime:1"}, "runtime_class": "gvisor"},
}


def render(tmp_path, *args) -> list[dict]:
    script = tmp_path / "script.py"
    script.write_text("print('hello')\n")
    out = io.StringIO()
    call_command("render_pod", "--script", str(script), *args, stdout=out)
    return list(yaml.safe_load_all(out.getvalue()))


# --- render_pod ------------------------------------------------------------------------------


@override_settings(EXECUTION_RUNNER=KUBERNETES)
def test_render_pod_prints_a_config_map_a_pod_and_a_network_policy_valid_for_every_supported_version(tmp_path):
    documents = render(tmp_path)
    assert [document["kind"] for document in documents] == ["ConfigMap", "Pod", "NetworkPolicy"]
    for document in documents:
        validate_manifest(document)


@override_settings(EXECUTION_RUNNER=KUBERNETES)
def test_render_pod_prints_a_hardened_pod(tmp_path):
    pod = render(tmp_path)[1]["spec"]
    container = pod["containers"][0]
    security = container["securityContext"]
    assert pod["restartPolicy"] == "Never" and pod["activeDeadlineSeconds"] > 0
    assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]} and security["privileged"] is False
    assert set(container["resources"]["limits"]) == {"cpu", "memory", "ephemeral-storage"}
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}} in pod["volumes"]
    assert pod["runtimeClassName"] == "gvisor"
    assert "hostNetwork" not in pod and "serviceAccountName" not in pod


def test_render_pod_limits_come_from_the_settings(tmp_path, settings):
    settings.EXECUTION_RUNNER = KUBERNETES
    settings.EXECUTION_LIMITS = {**settings.EXECUTION_LIMITS, "memory_mb": 96}
    container = render(tmp_path)[1]["spec"]["containers"][0]
    assert container["resources"]["limits"]["memory"] == "96Mi"
    assert container["resources"]["requests"]["memory"] == "96Mi"


@override_settings(EXECUTION_RUNNER=KUBERNETES)
def test_the_network_policy_denies_all_traffic_both_ways(tmp_path):
    policy = render(tmp_path)[2]
    assert policy["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


@override_settings(EXECUTION_RUNNER=KUBERNETES)
def test_render_pod_rejects_an_unknown_runtime(tmp_path):
    with pytest.raises(CommandError, match="Unknown runtime 'cobol'"):
        render(tmp_path, "--runtime", "cobol")


def test_render_pod_says_when_the_runner_is_not_kubernetes(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("print(1)")
    out = io.StringIO()
    call_command("render_pod", "--script", str(script), stdout=out)
    assert out.getvalue().startswith(render_pod.NOT_KUBERNETES)


@pytest.mark.subprocess
def test_render_pod_works_where_no_cluster_is_configured(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("print(1)")
    environment = {key: value for key, value in os.environ.items() if key != "KUBECONFIG"}
    environment |= {"HOME": str(tmp_path), "VAR_DIR": str(tmp_path / "var"), "EXECUTION_RUNNER": "kubernetes"}
    done = subprocess.run(
        [sys.executable, "manage.py", "render_pod", "--script", str(script)],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert [document["kind"] for document in yaml.safe_load_all(done.stdout)] == ["ConfigMap", "Pod", "NetworkPolicy"]


# --- reap_sandboxes ------------------------------------------------------------------------


@pytest.fixture
def kube_runner(tmp_path, monkeypatch):
    fake = FakeKubeApi(tmp_path, behaviour=Stuck("ContainerCreating")).start()
    runner = KubernetesRunner(kubeconfig=str(fake.write_kubeconfig(tmp_path / "kubeconfig")), api_backoff=0.01)
    monkeypatch.setattr(base, "_runner", runner)
    yield runner, fake
    fake.close()


def test_reap_sandboxes_removes_the_sandboxes_of_finished_executions_and_keeps_running_ones(kube_runner):
    runner, fake = kube_runner
    done = make_execution(status=Status.COMPLETED)
    running = make_running()
    for execution in (done, running):
        runner.start(spec("print(1)", execution_id=execution.execution_id), RecordingSink()).watch.stop()
    out = io.StringIO()
    call_command("reap_sandboxes", stdout=out)
    left = [pod["metadata"]["labels"]["integr8scode.io/execution-id"] for pod in fake.pods.values()]
    assert left == [running.execution_id]
    assert out.getvalue().startswith("reaped 1 leftover sandbox(es) of the kubernetes runner")


def test_reap_sandboxes_recovers_executions_whose_lease_expired(kube_runner, settings):
    settings.EXECUTION_MAX_ATTEMPTS = 1
    lost = make_running(lease_in=-5)
    out = io.StringIO()
    call_command("reap_sandboxes", "--older-than", "60", stdout=out)
    assert Execution.objects.get(execution_id=lost.execution_id).status == Status.FAILED
    assert out.getvalue().strip().endswith("expired leases: 0 requeued, 1 failed")


def test_reap_sandboxes_prints_one_summary_line(kube_runner):
    out = io.StringIO()
    call_command("reap_sandboxes", stdout=out)
    assert out.getvalue().count("\n") == 1


class AgeOnlyRunner(BaseRunner):
    """A runner whose reap knows only ages, like the local one."""

    calls: list[timedelta] = []

    def reap(self, *, older_than: timedelta) -> int:
        self.calls.append(older_than)
        return 2


def test_reap_sandboxes_asks_other_runners_by_age_only(monkeypatch):
    monkeypatch.setattr(base, "_runner", AgeOnlyRunner())
    out = io.StringIO()
    call_command("reap_sandboxes", "--older-than", "90", stdout=out)
    assert AgeOnlyRunner.calls == [timedelta(seconds=90)]
    assert out.getvalue().startswith("reaped 2 leftover sandbox(es) of the base runner (older than 90s);")


def test_reap_sandboxes_fails_loudly_when_the_api_does(kube_runner):
    runner, fake = kube_runner
    fake.close()
    with pytest.raises(CommandError, match=reap_sandboxes.REAP_FAILED.split("{")[0]):
        call_command("reap_sandboxes", stdout=io.StringIO())


# --- settings --------------------------------------------------------------------------------


def runner_settings(tmp_path, **env) -> dict:
    code = "import json, integr8scode.settings as s; print(json.dumps(s.EXECUTION_RUNNER))"
    environment = {**os.environ, "VAR_DIR": str(tmp_path), "EXECUTION_RUNNER": "kubernetes", **env}
    done = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.subprocess
def test_the_kubernetes_runner_is_configured_from_the_environment(tmp_path):
    config = runner_settings(
        tmp_path,
        KUBERNETES_NAMESPACE="runs",
        KUBERNETES_RUNTIME_CLASS="gvisor",
        KUBERNETES_RUNTIME_IMAGES="python3.13=repo/py:3.13, python3.12=repo/py:3.12",
        KUBERNETES_IMAGE_PULL_TIMEOUT="90",
        KUBERNETES_NODE_SELECTOR="pool=sandbox",
        KUBERNETES_MAX_STARTING="4",
        KUBERNETES_LOG_IDLE_TIMEOUT="20",
    )
    assert config["BACKEND"] == render_pod.KUBERNETES_BACKEND
    assert config["OPTIONS"] == {
        "namespace": "runs",
        "runtime_images": {"python3.13": "repo/py:3.13", "python3.12": "repo/py:3.12"},
        "runtime_class": "gvisor",
        "image_pull_timeout": 90.0,
        "node_selector": {"pool": "sandbox"},
        "user_namespaces": True,
        "max_starting": 4,
        "delete_grace": 2,
        "log_idle_timeout": 20.0,
        "probe_timeout": 10.0,
    }
    KubernetesRunner(**config["OPTIONS"])  # every option is one the runner knows


@pytest.mark.subprocess
def test_a_dedicated_sandbox_pool_and_user_namespaces_are_configured_from_the_environment(tmp_path):
    tolerations = [{"key": "pool", "operator": "Equal", "value": "sandbox", "effect": "NoSchedule"}]
    affinity = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}}
    config = runner_settings(
        tmp_path,
        KUBERNETES_TOLERATIONS=json.dumps(tolerations),
        KUBERNETES_AFFINITY=json.dumps(affinity),
        KUBERNETES_USER_NAMESPACES="false",
    )
    options = config["OPTIONS"]
    assert (options["tolerations"], options["affinity"], options["user_namespaces"]) == (tolerations, affinity, False)
    KubernetesRunner(**options)


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("KUBERNETES_TOLERATIONS", "[{", "KUBERNETES_TOLERATIONS must be JSON"),
        ("KUBERNETES_TOLERATIONS", "{}", "KUBERNETES_TOLERATIONS must be a JSON list"),
        ("KUBERNETES_AFFINITY", "[]", "KUBERNETES_AFFINITY must be a JSON object"),
    ],
)
def test_malformed_scheduling_settings_stop_start_up(tmp_path, name, value, message):
    environment = {**os.environ, "VAR_DIR": str(tmp_path), "EXECUTION_RUNNER": "kubernetes", name: value}
    done = subprocess.run(
        [sys.executable, "-c", "import integr8scode.settings"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and message in done.stderr


@pytest.mark.subprocess
def test_a_malformed_runtime_image_list_stops_start_up(tmp_path):
    code = "import integr8scode.settings"
    environment = {
        **os.environ,
        "VAR_DIR": str(tmp_path),
        "EXECUTION_RUNNER": "kubernetes",
        "KUBERNETES_RUNTIME_IMAGES": "just-an-image:tag",
    }
    done = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=environment, capture_output=True, text=True)
    assert done.returncode != 0 and "KUBERNETES_RUNTIME_IMAGES must be comma-separated key=value pairs" in done.stderr
