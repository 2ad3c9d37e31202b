"""The Grafana dashboard and the alert rules only use metrics the application exports."""

import json
import re
from pathlib import Path

import pytest
import yaml
from django.test import Client
from prometheus_client import REGISTRY

from conftest import wait_until
from executions import services
from executions.caller import Caller
from executions.documents import Execution

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "integr8scode"
DASHBOARD = CHART / "files" / "grafana" / "integr8scode.json"
ALERTS = CHART / "files" / "alerts" / "groups.yaml"
METRIC = re.compile(r"\b((?:integr8scode|django)_[a-z0-9_]+)\b")


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def alert_expressions() -> list[str]:
    return [rule["expr"] for group in yaml.safe_load(ALERTS.read_text()) for rule in group["rules"]]


def referenced(expressions: list[str]) -> set[str]:
    return {name for expr in expressions for name in METRIC.findall(expr)}


@pytest.fixture(scope="module")
def exported(django_db_blocker):
    """Sample names the process exports after real traffic and a real execution."""
    from executions import engine

    with django_db_blocker.unblock():
        Client().get("/healthz")
        Client().get("/api/v1/runtimes")
    engine.start(concurrency=1)
    try:
        execution, _ = services.execution_submit(caller=Caller.internal(), script="print('x')")
        wait_until(lambda: Execution.objects.get(execution_id=execution.execution_id).is_final, timeout=30)
    finally:
        engine.stop(grace=5)
    names = set()
    for family in REGISTRY.collect():
        names |= {sample.name for sample in family.samples}
        # A labelled family shows samples once a label set is used (a warm pool's runtime, say).
        names |= {family.name + suffix for suffix in SAMPLE_SUFFIXES.get(family.type, ("",))}
    return names


SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}


def test_the_dashboard_covers_the_platforms_metrics():
    names = referenced(dashboard_expressions())

    for family in (
        "submitted",
        "finished",
        "queue_wait",
        "run_duration",
        "run_cpu",
        "run_peak_memory",
        "sandbox_start",
        "output_bytes",
        "websocket_connections",
        "rate_limit_refusals",
        "dispatcher_workers",
        "lease_expiries",
        "sandboxes_starting",
        "infrastructure_failures",
        "sandbox_pool_pods",
        "sandbox_pool_claims",
        "sandbox_pool_claim_seconds",
        "sandbox_pool_refill_seconds",
    ):
        assert any(family in name for name in names), family


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_referenced_metric_is_exported(exported, source):
    expressions = dashboard_expressions() if source == "dashboard" else alert_expressions()

    missing = sorted(referenced(expressions) - exported)

    assert missing == []


def test_the_alerts_cover_what_operators_must_hear_about():
    names = {rule["alert"] for group in yaml.safe_load(ALERTS.read_text()) for rule in group["rules"]}

    assert names == {
        "Integr8sCodeQueueBackingUp",
        "Integr8sCodeFailureRatioHigh",
        "Integr8sCodeSystemErrors",
        "Integr8sCodeNoExecutorAlive",
        "Integr8sCodeLeaseExpiries",
        "Integr8sCodeRunDurationP95High",
        "Integr8sCodeSandboxReportDisagreed",
    }
