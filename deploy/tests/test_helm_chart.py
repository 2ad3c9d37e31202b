"""The Helm chart (deploy/helm/integr8scode), rendered by real Helm: every manifest is valid
for the oldest and newest Kubernetes the chart supports, and the security properties the
design promises are in it.

Helm comes from the ``helm-python-sdk`` package (Helm's own Go library, in process) or a
``helm`` binary on the PATH; without either these tests are skipped, saying so.
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from executions.runners.kubernetes import manifests as kube_manifests
from executions.runners.kubernetes import pool_objects
from executions.runners.kubernetes.runner import KubernetesRunner
from executions.tests.runners.test_kubernetes_scenarios import KUBERNETES_VERSIONS, validate_manifest

BASE_DIR = Path(__file__).resolve().parents[2]
CHART = BASE_DIR / "deploy" / "helm" / "integr8scode"
RELEASE_NAMESPACE = "integr8scode"
SANDBOX_NAMESPACE = "integr8scode-sandbox"
CRDS = {"monitoring.coreos.com/v1"}  # not in the Kubernetes schemas; checked by shape only
LINT_INFO = 1  # helm's support.InfoSev: "icon is recommended" and the like
NO_RENDERER = "no Helm renderer: install the helm-python-sdk package (dev group) or put helm on the PATH"

MINIMAL = {
    "secrets": {
        "values": {
            "SECRET_KEY": "s" * 50,
            "HEADLESS_JWT_PRIVATE_KEY": "a PEM",
            "MONGODB_URL": "mongodb://mongodb:27017/integr8scode",
            "DATABASE_URL": "postgresql://integr8scode:p@postgres:5432/integr8scode",
            "REDIS_URL": "redis://redis:6379/0",
        }
    }
}
REQUIRED_SECRETS = ["SECRET_KEY", "HEADLESS_JWT_PRIVATE_KEY", "MONGODB_URL", "DATABASE_URL", "REDIS_URL"]
POOL_TOLERATIONS = [{"key": "pool", "operator": "Equal", "value": "sandbox", "effect": "NoSchedule"}]
POOL_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["sandbox"]}]}]
        }
    }
}
DIGEST = "sha256:" + "ab" * 32
EVERYTHING = {
    "image": {"repository": "registry.example/integr8scode/app", "tag": "1.2.3"},
    "imagePullSecrets": [{"name": "regcred"}],
    "runtimes": [
        {"name": "python3.13", "image": "registry.example/py:3.13"},
        {"name": "python3.12", "image": "registry.example/py:3.12"},
    ],
    "secrets": {"existingSecret": "integr8scode", "asFiles": False},
    "config": {"extraEnv": {"EXECUTION_LEASE_SECONDS": "20"}},
    "sandbox": {
        "runtimeClass": {"name": "gvisor", "create": True},
        "nodeSelector": {"pool": "sandbox"},
        "tolerations": POOL_TOLERATIONS,
        "affinity": POOL_AFFINITY,
        "imagePullSecrets": ["sandbox-regcred"],
    },
    "ingress": {"className": "nginx", "tls": [{"secretName": "tls", "hosts": ["integr8scode.example.com"]}]},
    "reaper": {"olderThanSeconds": 900},
    "metrics": {"enabled": True},
}
VALUE_SETS = {
    "minimal": MINIMAL,
    "everything": EVERYTHING,
    "kind": yaml.safe_load((CHART / "ci" / "kind-values.yaml").read_text()),
}


# --- rendering ---------------------------------------------------------------------------------


class RenderError(Exception):
    pass


def _render_in_process(values: dict) -> str:
    import helm_python

    try:
        with helm_python.Chart.load(str(CHART)) as chart:
            files = chart.render(values, name="demo", namespace=RELEASE_NAMESPACE, is_install=True)
    except helm_python.HelmError as exc:
        raise RenderError(str(exc)) from exc
    return "\n---\n".join(text for path, text in sorted(files.items()) if path.endswith((".yaml", ".yml")))


def _render_with_binary(values: dict) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
        json.dump(values, file)  # JSON is YAML
        file.flush()
        command = [
            shutil.which("helm"),
            "template",
            "demo",
            str(CHART),
            "--namespace",
            RELEASE_NAMESPACE,
            "--values",
            file.name,
        ]
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RenderError(done.stderr)
    return done.stdout


def _renderer():
    try:
        import helm_python  # noqa: F401

        return _render_in_process
    except ImportError:
        return _render_with_binary if shutil.which("helm") else None


@functools.cache
def _render_cached(values_json: str) -> tuple[dict, ...]:
    renderer = _renderer()
    if renderer is None:
        pytest.skip(NO_RENDERER)
    text = renderer(json.loads(values_json))
    return tuple(document for document in yaml.safe_load_all(text) if document)


def render(values: dict) -> list[dict]:
    return [json.loads(json.dumps(document)) for document in _render_cached(json.dumps(values, sort_keys=True))]


def find(documents: list[dict], kind: str, name_suffix: str = "") -> dict:
    matches = [d for d in documents if d["kind"] == kind and d["metadata"]["name"].endswith(name_suffix)]
    assert len(matches) == 1, f"expected one {kind} *{name_suffix}, found {[d['metadata']['name'] for d in matches]}"
    return matches[0]


def pod_specs(documents: list[dict]) -> dict[str, dict]:
    """Every pod template of the chart, by workload name."""
    specs = {}
    for document in documents:
        spec = document.get("spec", {})
        template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template")
        if template:
            specs[document["metadata"]["name"]] = template["spec"]
    return specs


# --- validity ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_rendered_manifest_is_valid_for_the_oldest_and_newest_supported_kubernetes(value_set):
    documents = render(VALUE_SETS[value_set])
    assert len(documents) >= 12
    for document in documents:
        if document["apiVersion"] in CRDS:
            assert document["kind"] == "PrometheusRule" and isinstance(document["spec"]["groups"], list)
        else:
            validate_manifest(document)


def test_helm_lint_in_strict_mode_finds_nothing_worse_than_advice():
    renderer = _renderer()
    if renderer is None:
        pytest.skip(NO_RENDERER)
    if renderer is _render_in_process:
        import helm_python

        report = helm_python.lint(str(CHART), MINIMAL, strict=True)
        assert report["errors"] == [] and all(m["severity"] <= LINT_INFO for m in report["messages"]), report
    else:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
            json.dump(MINIMAL, file)
            file.flush()
            done = subprocess.run(
                [shutil.which("helm"), "lint", "--strict", str(CHART), "--values", file.name],
                capture_output=True,
                text=True,
            )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_charts_kube_version_is_the_oldest_version_validated():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["kubeVersion"] == f">={KUBERNETES_VERSIONS[0]}.0-0"


def test_missing_secrets_stop_the_render_with_a_clear_message():
    with pytest.raises(RenderError, match=r"secrets.values.SECRET_KEY \(or secrets.existingSecret\) is required"):
        render({})


@pytest.mark.parametrize("name", REQUIRED_SECRETS)
def test_the_production_values_do_not_render_without_each_store_and_key(name):
    values = {key: value for key, value in MINIMAL["secrets"]["values"].items() if key != name}
    with pytest.raises(RenderError, match=rf"secrets.values.{name} \(or secrets.existingSecret\) is required: "):
        render({"secrets": {"values": values}})
    listed = [key for key in REQUIRED_SECRETS if key != name]
    with pytest.raises(RenderError, match=rf"secrets.existingSecretKeys must list {name}: "):
        render({"secrets": {"existingSecret": "integr8scode", "existingSecretKeys": listed}})


def test_without_database_url_the_message_says_what_would_happen():
    values = {key: value for key, value in MINIMAL["secrets"]["values"].items() if key != "DATABASE_URL"}
    with pytest.raises(RenderError, match="every pod would keep its own SQLite file"):
        render({"secrets": {"values": values}})


def test_with_every_store_and_key_the_chart_renders_and_passes_them_all():
    env = pod_specs(render(MINIMAL))["demo-integr8scode-executor"]["containers"][0]["env"]
    assert {item["name"] for item in env} == {f"{name}_FILE" for name in REQUIRED_SECRETS}
    kind = yaml.safe_load((CHART / "ci" / "kind-values.yaml").read_text())
    assert set(REQUIRED_SECRETS) <= set(kind["secrets"]["values"])


def test_a_sandbox_namespace_shared_with_the_release_is_refused():
    with pytest.raises(RenderError, match="sandbox.namespace must differ"):
        render({**MINIMAL, "sandbox": {"namespace": RELEASE_NAMESPACE}})


# --- the sandbox namespace -----------------------------------------------------------------------


def test_the_sandbox_namespace_enforces_the_restricted_pod_security_standard():
    labels = find(render(MINIMAL), "Namespace", SANDBOX_NAMESPACE)["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_the_sandbox_network_policy_is_the_default_deny_the_runner_describes():
    policy = find(render(MINIMAL), "NetworkPolicy")
    expected = kube_manifests.network_policy({"namespace": SANDBOX_NAMESPACE})
    assert policy["spec"] == expected["spec"] and policy["metadata"]["name"] == expected["metadata"]["name"]
    assert policy["metadata"]["namespace"] == SANDBOX_NAMESPACE


def test_the_executors_role_reaches_only_pods_their_logs_and_config_maps_in_the_sandbox_namespace():
    documents = render(MINIMAL)
    role = find(documents, "Role")
    assert role["metadata"]["namespace"] == SANDBOX_NAMESPACE
    assert {resource for rule in role["rules"] for resource in rule["resources"]} == {"pods", "pods/log", "configmaps"}
    assert all(rule["apiGroups"] == [""] for rule in role["rules"])
    assert not any(d["kind"] in ("ClusterRole", "ClusterRoleBinding") for d in documents)
    binding = find(documents, "RoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "demo-integr8scode-executor", "namespace": RELEASE_NAMESPACE}
    ]


def test_a_runtime_class_is_created_and_used_when_asked_for():
    documents = render(EVERYTHING)
    runtime_class = find(documents, "RuntimeClass")
    assert runtime_class["handler"] == "runsc"
    # gVisor's own kernel is paid for by the pod, not taken from the script's memory limit.
    assert runtime_class["overhead"] == {"podFixed": {"memory": "64Mi", "cpu": "100m"}}
    assert runtime_class["scheduling"] == {"nodeSelector": {"pool": "sandbox"}, "tolerations": POOL_TOLERATIONS}
    assert find(documents, "ConfigMap", "-env")["data"]["KUBERNETES_RUNTIME_CLASS"] == "gvisor"


def test_the_prepull_daemon_set_pulls_every_runtime_image_on_the_sandbox_nodes():
    daemon_set = find(render(EVERYTHING), "DaemonSet")
    spec = daemon_set["spec"]["template"]["spec"]
    assert daemon_set["metadata"]["namespace"] == SANDBOX_NAMESPACE
    assert [c["image"] for c in spec["initContainers"]] == ["registry.example/py:3.13", "registry.example/py:3.12"]
    assert spec["nodeSelector"] == {"pool": "sandbox"}
    assert spec["tolerations"] == POOL_TOLERATIONS and spec["affinity"] == POOL_AFFINITY


# --- the application ------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_pod_runs_non_root_read_only_without_privilege_escalation_or_capabilities(value_set):
    for name, spec in pod_specs(render(VALUE_SETS[value_set])).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"] + spec.get("initContainers", []):
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"] == {"drop": ["ALL"]}, name


def test_only_the_executors_reaper_and_migrations_get_an_api_token():
    tokens = {name: spec["automountServiceAccountToken"] for name, spec in pod_specs(render(MINIMAL)).items()}
    assert tokens == {
        "demo-integr8scode-web": False,
        "demo-integr8scode-executor": True,
        "demo-integr8scode-reaper": True,
        "demo-integr8scode-migrate": True,
        "demo-integr8scode-prepull": False,
    }


def test_the_web_pods_serve_daphne_with_readiness_and_liveness_probes():
    container = pod_specs(render(MINIMAL))["demo-integr8scode-web"]["containers"][0]
    assert container["command"][:3] == ["python", "-m", "integr8scode.serve"]  # Daphne, with JSON refusals
    assert container["command"][-1] == "integr8scode.asgi:application"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_the_executors_run_the_executor_command_and_get_time_to_finish_runs():
    spec = pod_specs(render(MINIMAL))["demo-integr8scode-executor"]
    assert spec["containers"][0]["command"][:3] == ["python", "manage.py", "executor"]
    assert spec["terminationGracePeriodSeconds"] > 15


def test_the_reaper_runs_reap_sandboxes_on_a_schedule():
    cron_job = find(render(EVERYTHING), "CronJob")
    command = cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command == ["python", "manage.py", "reap_sandboxes", "--older-than", "900"]
    assert cron_job["spec"]["concurrencyPolicy"] == "Forbid"


def test_the_migrations_run_as_a_helm_hook():
    job = find(render(MINIMAL), "Job", "-migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command == ["python", "manage.py", "migrate", "--noinput"]


def test_the_ingress_sends_everything_including_websockets_to_the_web_service():
    ingress = find(render(EVERYTHING), "Ingress")
    path = ingress["spec"]["rules"][0]["http"]["paths"][0]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")
    assert path["backend"]["service"] == {"name": "demo-integr8scode-web", "port": {"name": "http"}}
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "3600"


def test_both_deployments_have_a_disruption_budget():
    budgets = [d["metadata"]["name"] for d in render(MINIMAL) if d["kind"] == "PodDisruptionBudget"]
    assert sorted(budgets) == ["demo-integr8scode-executor", "demo-integr8scode-web"]


def test_secrets_reach_the_app_as_files_by_default_and_as_variables_when_asked():
    as_files = pod_specs(render(MINIMAL))["demo-integr8scode-web"]["containers"][0]
    assert {"name": "SECRET_KEY_FILE", "value": "/etc/integr8scode/secrets/SECRET_KEY"} in as_files["env"]
    as_variables = pod_specs(render(EVERYTHING))["demo-integr8scode-web"]["containers"][0]
    assert {"secretRef": {"name": "integr8scode"}} in as_variables["envFrom"]


def test_the_metrics_hooks_render_only_when_enabled():
    disabled = {document["kind"] for document in render(MINIMAL)}
    assert "PrometheusRule" not in disabled
    assert not [d for d in render(MINIMAL) if d["metadata"]["name"].endswith("-dashboard")]
    enabled = render(EVERYTHING)
    assert find(enabled, "PrometheusRule")["apiVersion"] == "monitoring.coreos.com/v1"
    assert find(enabled, "ConfigMap", "-dashboard")["metadata"]["labels"]["grafana_dashboard"] == "1"


def test_the_configuration_the_chart_gives_loads_into_a_working_runner(tmp_path):
    data = find(render(EVERYTHING), "ConfigMap", "-env")["data"]
    secrets = {"SECRET_KEY": "k" * 50, "HEADLESS_JWT_PRIVATE_KEY": "a PEM", "MONGODB_URL": "mongodb://m:27017/db"}
    environment = {**os.environ, **data, **secrets, "VAR_DIR": str(tmp_path)}
    code = "import json, integr8scode.settings as s; print(json.dumps(s.EXECUTION_RUNNER))"
    done = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    options = json.loads(done.stdout)["OPTIONS"]
    runner = KubernetesRunner(**options)
    assert set(runner.runtimes()) == {"python3.13", "python3.12"}
    assert options["namespace"] == SANDBOX_NAMESPACE and options["node_selector"] == {"pool": "sandbox"}
    # values -> the executor's env -> the runner's options -> the sandbox pod
    pod = runner_pod(options)
    assert pod["spec"]["tolerations"] == POOL_TOLERATIONS and pod["spec"]["affinity"] == POOL_AFFINITY
    assert pod["spec"]["nodeSelector"] == {"pool": "sandbox"} and pod["spec"]["hostUsers"] is False
    validate_manifest(pod)


def runner_options(values: dict, tmp_path) -> dict:
    data = find(render(values), "ConfigMap", "-env")["data"]
    secrets = {"SECRET_KEY": "k" * 50, "HEADLESS_JWT_PRIVATE_KEY": "a PEM", "MONGODB_URL": "mongodb://m:27017/db"}
    environment = {**os.environ, **data, **secrets, "VAR_DIR": str(tmp_path)}
    code = (
        "import json, integr8scode.settings as s; print(json.dumps([s.EXECUTION_RUNNER, s.EXECUTION_LIMITS,"
        " s.RUNTIME_EXECUTION_LIMITS, s.OUTPUT_FILE_CAPS, s.EXECUTOR_PROBE_DIR, s.COMPILE_LIMITS]))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    runner, limits, runtime_limits, file_caps, probe_dir, compile_limits = json.loads(done.stdout)
    return {
        "compile_limits": compile_limits,
        "options": {**kube_manifests.DEFAULT_OPTIONS, **runner["OPTIONS"]},
        "limits": limits,
        "runtime_limits": runtime_limits,
        "file_caps": file_caps,
        "probe_dir": probe_dir,
    }


def runner_pod(options: dict, runtime: str = "python3.13") -> dict:
    run = spec_for(runtime)
    options = {**kube_manifests.DEFAULT_OPTIONS, **options}
    return kube_manifests.pod(run, kube_manifests.sandbox_for(run, options), options)


def test_user_namespaces_are_on_by_default_and_can_be_turned_off(tmp_path):
    assert find(render(MINIMAL), "ConfigMap", "-env")["data"]["KUBERNETES_USER_NAMESPACES"] == "true"
    off = runner_options({**MINIMAL, "sandbox": {"userNamespaces": False}}, tmp_path)["options"]
    assert off["user_namespaces"] is False and "hostUsers" not in runner_pod(off)["spec"]


# --- the sandbox namespace's budget ---------------------------------------------------------------


def mebibytes(quantity: str) -> int:
    return int(quantity.removesuffix("Mi")) if quantity.endswith("Mi") else int(quantity.removesuffix("Gi")) * 1024


def millicores(quantity: str) -> int:
    return int(quantity.removesuffix("m")) if quantity.endswith("m") else int(float(quantity) * 1000)


def sandbox_resources(values: dict, tmp_path) -> list[dict]:
    """The container resources of a sandbox pod at the caps, for every runtime the values offer,
    as the runner computes them with the configuration the chart gives."""
    from executions.runners.base import FileCaps, Limits, RunSpec

    loaded = runner_options(values, tmp_path)
    caps = FileCaps(**loaded["file_caps"])
    found = []
    for runtime in loaded["options"]["runtime_images"]:
        limits = Limits(**{**loaded["limits"], **loaded["runtime_limits"].get(runtime, {})})
        run = RunSpec("x", "", "", runtime, limits, file_caps=caps, compile_limits=Limits(**loaded["compile_limits"]))
        options = {**kube_manifests.DEFAULT_OPTIONS, **loaded["options"]}
        pod = kube_manifests.pod(run, kube_manifests.sandbox_for(run, options), options)
        found += [c["resources"] for c in pod["spec"]["containers"] + pod["spec"].get("initContainers", [])]
    options = {**loaded["options"], "pool_ttl": 600}
    for tier in pool_objects.tiers_from({"pool": loaded["options"].get("pool", [])}):
        idle = pool_objects.idle_pod(tier, options, identity="executor", owner_uid=kube_manifests.OWNER_UID_PLACEHOLDER)
        found.append(idle["spec"]["containers"][0]["resources"])
    return found


BUDGETS = {
    "defaults": MINIMAL,
    "bigger": {
        **MINIMAL,
        "executor": {"replicas": 5, "concurrency": 12},
        "sandbox": {"cpuLimit": "1500m", "runtimeClass": {"name": "gvisor", "create": True}},
        "config": {"limits": {"outputBytes": 4 << 20, "memoryMb": 256, "diskMb": 32}, "filesOut": {"maxCount": 3}},
    },
    "compiled languages": {
        **MINIMAL,
        "runtimes": [
            {"name": "python3.13", "image": "py:3.13"},
            {"name": "c", "image": "runtime-c:12.2.0"},
            {"name": "javascript", "image": "runtime-javascript:18.19.0"},
        ],
    },
    "a warm pool": {**MINIMAL, "sandbox": {"pool": {"python3.13": 2, "python3.13-data": 1}}},
    "no files, no data runtime": {
        **MINIMAL,
        "runtimes": [{"name": "python3.13", "image": "py:3.13"}],
        "config": {"limits": {"outputBytes": 65536}, "filesOut": {"maxCount": 0}},
    },
}


@pytest.mark.parametrize("budget", BUDGETS)
def test_the_limit_range_admits_a_sandbox_at_its_caps_and_nothing_larger(budget, tmp_path):
    values = BUDGETS[budget]
    limit_range = find(render(values), "LimitRange")
    assert limit_range["metadata"]["namespace"] == SANDBOX_NAMESPACE
    maximum = limit_range["spec"]["limits"][0]["max"]
    pods = sandbox_resources(values, tmp_path)
    # The chart's arithmetic is the runner's (manifests.log_allowance_mb): the largest sandbox
    # is exactly the max.
    assert mebibytes(maximum["ephemeral-storage"]) == max(mebibytes(p["limits"]["ephemeral-storage"]) for p in pods)
    assert mebibytes(maximum["memory"]) == max(mebibytes(p["limits"]["memory"]) for p in pods)
    assert millicores(maximum["cpu"]) == max(millicores(p["limits"]["cpu"]) for p in pods)


@pytest.mark.parametrize("budget", BUDGETS)
def test_the_quota_fits_every_executor_at_its_concurrency_with_each_sandbox_at_its_caps(budget, tmp_path):
    values = BUDGETS[budget]
    documents = render(values)
    quota = find(documents, "ResourceQuota")
    hard = quota["spec"]["hard"]
    executor = find(documents, "Deployment", "-executor")
    replicas = executor["spec"]["replicas"]
    concurrency = int(find(documents, "ConfigMap", "-env")["data"]["EXECUTOR_CONCURRENCY"])
    idle = 2 * sum(values.get("sandbox", {}).get("pool", {}).values())  # two shapes per runtime
    pods = (replicas + math.ceil(replicas / 4)) * (concurrency + idle)  # and a rolling update's extra executor
    assert int(hard["pods"]) == pods
    overhead = (
        find(documents, "RuntimeClass")["overhead"]["podFixed"]
        if "runtimeClass" in values.get("sandbox", {})
        else {"cpu": "0m", "memory": "0Mi"}
    )
    largest = sandbox_resources(values, tmp_path)
    memory = max(mebibytes(p["limits"]["memory"]) for p in largest) + mebibytes(overhead["memory"])
    cpu = max(millicores(p["limits"]["cpu"]) for p in largest) + millicores(overhead["cpu"])
    request = max(millicores(p["requests"]["cpu"]) for p in largest) + millicores(overhead["cpu"])
    assert mebibytes(hard["limits.memory"]) >= pods * memory and mebibytes(hard["requests.memory"]) >= pods * memory
    assert millicores(hard["limits.cpu"]) >= pods * cpu and millicores(hard["requests.cpu"]) >= pods * request
    # Only sandbox pods count: they have a deadline (the Terminating scope), the prepull pods none.
    assert quota["spec"]["scopes"] == ["Terminating"]
    assert runner_pod({})["spec"]["activeDeadlineSeconds"] > 0
    if values.get("prepull", {}).get("enabled", True):
        assert "activeDeadlineSeconds" not in find(documents, "DaemonSet")["spec"]["template"]["spec"]


def test_a_warm_pool_gets_the_claim_and_the_attach_and_nothing_broader(tmp_path):
    values = BUDGETS["a warm pool"]
    documents = render(values)
    rules = {tuple(rule["resources"]): set(rule["verbs"]) for rule in find(documents, "Role")["rules"]}
    assert rules[("pods",)] == {"create", "delete", "get", "list", "watch", "patch"}
    assert rules[("pods/attach",)] == {"create"}  # the renderer's Kubernetes is 1.30 or newer
    assert not [rule for rule in rules if "pods/exec" in rule]
    without = {tuple(rule["resources"]): set(rule["verbs"]) for rule in find(render(MINIMAL), "Role")["rules"]}
    assert "patch" not in without[("pods",)] and ("pods/attach",) not in without
    data = find(documents, "ConfigMap", "-env")["data"]
    assert data["KUBERNETES_POOL"] == "python3.13=2,python3.13-data=1" and data["KUBERNETES_POOL_TTL"] == "600"
    options = runner_options(values, tmp_path)["options"]
    tiers = pool_objects.tiers_from(options)
    # Each runtime at its signed-in and its anonymous caps.
    assert sorted((t.runtime, t.idle, t.limits.memory_mb) for t in tiers) == [
        ("python3.13", 2, 64),
        ("python3.13", 2, 128),
        ("python3.13-data", 1, 256),
        ("python3.13-data", 1, 512),
    ]
    for tier in tiers:
        owner = kube_manifests.OWNER_UID_PLACEHOLDER
        validate_manifest(pool_objects.idle_pod(tier, options, identity="executor-1", owner_uid=owner))


def test_the_chart_knows_which_runtimes_are_compiled():
    from executions.runners.languages import LANGUAGES

    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    listed = helpers.split('define "integr8scode.compiledRuntimes" -}}')[1].split("{{")[0].split()
    assert sorted(listed) == sorted(language.runtime for language in LANGUAGES if language.compiled)


def test_quota_and_limit_range_entries_can_be_replaced_or_turned_off():
    documents = render({**MINIMAL, "sandbox": {"quota": {"hard": {"pods": "7"}}, "limitRange": {"max": {"cpu": "2"}}}})
    assert find(documents, "ResourceQuota")["spec"]["hard"]["pods"] == "7"
    assert find(documents, "LimitRange")["spec"]["limits"][0]["max"]["cpu"] == "2"
    off = render({**MINIMAL, "sandbox": {"quota": {"enabled": False}, "limitRange": {"enabled": False}}})
    assert not [d for d in off if d["kind"] in ("ResourceQuota", "LimitRange")]


# --- pinned images --------------------------------------------------------------------------------


def test_images_are_referenced_by_digest_when_one_is_given():
    values = {
        **MINIMAL,
        "image": {"repository": "registry.example/app", "tag": "1.0", "digest": DIGEST},
        "runtimes": [{"name": "python3.13", "image": "registry.example/py:3.13", "digest": DIGEST}],
    }
    documents = render(values)
    for name, spec in pod_specs(documents).items():
        if name.endswith("-prepull"):
            assert spec["initContainers"][0]["image"] == f"registry.example/py:3.13@{DIGEST}"
        else:
            assert [c["image"] for c in spec["containers"]] == [f"registry.example/app@{DIGEST}"], name
    runtime_images = find(documents, "ConfigMap", "-env")["data"]["KUBERNETES_RUNTIME_IMAGES"]
    assert runtime_images == f"python3.13=registry.example/py:3.13@{DIGEST}"


def test_a_digest_that_is_not_sha256_is_refused():
    with pytest.raises(RenderError, match="image.digest must be sha256: and 64 hex digits"):
        render({**MINIMAL, "image": {"digest": "latest"}})


# --- the executor's probes ------------------------------------------------------------------------


def test_the_executor_has_exec_probes_on_the_files_it_keeps(tmp_path):
    container = pod_specs(render(MINIMAL))["demo-integr8scode-executor"]["containers"][0]
    probe_dir = runner_options(MINIMAL, tmp_path)["probe_dir"]
    live, ready = container["livenessProbe"]["exec"]["command"], container["readinessProbe"]["exec"]["command"]
    assert container["startupProbe"]["exec"]["command"] == live
    assert live[-2] == f"{probe_dir}/alive" and ready[-2] == f"{probe_dir}/ready"
    # What the probe command does with a fresh, a stale and a missing file.
    fresh, stale = tmp_path / "fresh", tmp_path / "stale"
    fresh.touch()
    stale.touch()
    os.utime(stale, (time.time() - 120, time.time() - 120))
    for path, code in ((fresh, 0), (stale, 1), (tmp_path / "missing", 1)):
        command = [sys.executable, *live[1:-2], str(path), live[-1]]
        assert subprocess.run(command, capture_output=True).returncode == code, path


# --- the images -------------------------------------------------------------------------------


def test_the_runtime_image_puts_the_entry_where_the_runner_runs_it():
    dockerfile = (BASE_DIR / "deploy" / "images" / "runtime-python.Dockerfile").read_text()
    entry, python = kube_manifests.DEFAULT_OPTIONS["entry"], kube_manifests.DEFAULT_OPTIONS["python"]
    assert f"COPY --chmod=0444 executions/sandbox/entry.py {entry}" in dockerfile
    assert f'"{python}", "-I", "-S", "{entry}"' in dockerfile
    seccomp_filter = kube_manifests.DEFAULT_OPTIONS["filter"]
    assert "RUN python /build/seccomp.py /build/filter.bpf" in dockerfile
    assert f"COPY --from=filter --chmod=0444 /build/filter.bpf {seccomp_filter}" in dockerfile
    assert "FROM python:3.13-slim" in dockerfile and "USER 65532:65532" in dockerfile


def test_the_app_image_runs_as_the_user_the_chart_expects():
    dockerfile = (BASE_DIR / "deploy" / "images" / "app.Dockerfile").read_text()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    user = values["podSecurityContext"]
    assert f"USER {user['runAsUser']}:{user['runAsGroup']}" in dockerfile
    assert "uv sync --frozen --no-dev" in dockerfile and "integr8scode.asgi:application" in dockerfile


def test_the_data_runtime_image_puts_the_locked_packages_where_the_runner_tells_the_entry_they_are():
    dockerfile = (BASE_DIR / "deploy" / "images" / "runtime-python-data.Dockerfile").read_text()
    ignored = (BASE_DIR / "deploy" / "images" / "runtime-python-data.Dockerfile.dockerignore").read_text()
    packages = kube_manifests.PACKAGES_DIR
    assert "--require-hashes --no-deps --only-binary :all:" in dockerfile
    assert f"--target {packages} -r /build/requirements.txt" in dockerfile
    assert f"COPY --from=packages --chmod=a-w {packages} {packages}" in dockerfile
    for source in ("requirements.txt", "site/", "finish.py"):
        assert f"!runtimes/python-data/{source}" in ignored
    pod_args = kube_manifests.entry_args(spec_for("python3.13-data"), kube_manifests.DEFAULT_OPTIONS)
    assert f"packages={packages}" in pod_args
    assert not any(
        arg.startswith("packages=")
        for arg in kube_manifests.entry_args(spec_for("python3.13"), kube_manifests.DEFAULT_OPTIONS)
    )


def spec_for(runtime: str):
    from executions.limits import limit_caps
    from executions.runners.base import RunSpec

    return RunSpec("x", "print(1)", "", runtime, limit_caps())
