"""Health probes, metrics and logs."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.test import Client, override_settings

from integr8scode import health
from integr8scode.logs import JsonFormatter, logging_config
from integr8scode.metrics_view import METRICS_FORBIDDEN

BASE_DIR = Path(__file__).resolve().parents[2]


def test_healthz_answers_while_the_process_lives():
    response = Client().get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.django_db
def test_readyz_is_ok_when_every_component_answers():
    response = Client().get("/readyz")

    assert response.status_code == 200, response.json()
    assert response.json()["failing"] == []
    assert set(response.json()["checks"]) == {"database", "mongodb", "channel_layer", "runner"}


@pytest.mark.django_db
def test_readyz_names_a_stopped_component(monkeypatch):
    def mongodb_down():
        raise ConnectionError("connection refused")

    monkeypatch.setitem(health.CHECKS, "mongodb", mongodb_down)

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["mongodb"]
    assert "connection refused" in response.json()["checks"]["mongodb"]


@pytest.mark.subprocess
def test_readyz_reports_a_really_stopped_mongodb(tmp_path):
    """A real process whose MONGODB_URL points at a port nobody listens on."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    jwt_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path),
        "MONGODB_URL": "mongodb://127.0.0.1:9/x",
        "SECRET_KEY": "k" * 50,
        "HEADLESS_JWT_PRIVATE_KEY": jwt_key,
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "ALLOWED_HOSTS": "testserver",
    }
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='integr8scode.settings'; django.setup()\n"
        "from django.core.management import call_command; call_command('migrate', verbosity=0)\n"
        "from django.test import Client; r = Client().get('/readyz'); print(r.status_code, r.json()['failing'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=120
    )

    assert done.stdout.strip().splitlines()[-1] == "503 ['mongodb']", done.stderr[-2000:]


def test_metrics_are_refused_outside_the_allowed_networks():
    response = Client(REMOTE_ADDR="203.0.113.9").get("/metrics")

    assert response.status_code == 403
    assert response.content.decode() == METRICS_FORBIDDEN


@override_settings(METRICS_TOKEN="s3cret", METRICS_ALLOWED_NETWORKS=[])
def test_metrics_accept_the_bearer_token():
    assert Client().get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert Client().get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_metrics_show_executions_with_their_labels(http):
    assert http.post("/api/v1/executions?wait=true", json={"script": "print('hi')"}).json()["status"] == "completed"
    assert (
        http.post("/api/v1/executions?wait=true", json={"script": "raise SystemExit(2)"}).json()["status"] == "failed"
    )

    text = http.get("/metrics").text

    assert 'integr8scode_executions_submitted_total{runtime="python3.13"}' in text
    assert (
        'integr8scode_executions_finished_total{error_type="",runner="local",runtime="python3.13",status="completed"}'
        in text
    )
    assert 'error_type="runtime_error",runner="local",runtime="python3.13",status="failed"' in text
    for name in (
        "integr8scode_run_duration_seconds_bucket",
        "integr8scode_queue_wait_seconds_count",
        'integr8scode_executions{status="queued"}',
        'integr8scode_dispatcher_workers{state="busy"}',
        "django_http_requests_total_by_method_total",
        "integr8scode_output_bytes_total",
    ):
        assert name in text, name


def test_every_response_carries_a_request_id_and_keeps_a_sane_incoming_one():
    generated = Client().get("/healthz")["X-Request-ID"]
    kept = Client().get("/healthz", headers={"X-Request-ID": "abc-123"})["X-Request-ID"]
    replaced = Client().get("/healthz", headers={"X-Request-ID": "bad id\n"})["X-Request-ID"]

    assert len(generated) == 32 and kept == "abc-123" and replaced != "bad id\n"


def test_json_logs_are_one_object_per_line_with_context():
    record = logging.LogRecord("executions.services", logging.INFO, __file__, 1, "execution queued", (), None)
    record.execution_id = "e" * 32
    record.request_id = "r1"

    entry = json.loads(JsonFormatter().format(record))

    assert entry["message"] == "execution queued" and entry["execution_id"] == "e" * 32
    assert entry["request_id"] == "r1" and entry["level"] == "INFO"


@pytest.mark.live_server
def test_a_server_with_log_format_json_logs_only_json_lines(tmp_path):
    from conftest import LiveServer

    server = LiveServer(tmp_path, env={"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}).start()
    try:
        body = httpx.post(
            f"{server.url}/api/v1/executions?wait=true", json={"script": "print('never-logged-output')"}, timeout=30
        ).json()
    finally:
        server.stop()

    lines = [line for line in server.log.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line parses
    messages = [(e["message"], e.get("execution_id")) for e in entries]
    assert ("execution queued", body["execution_id"]) in messages
    assert ("execution finished", body["execution_id"]) in messages
    assert "never-logged-output" not in server.log.read_text()


def test_log_format_must_be_text_or_json():
    assert logging_config(log_format="json", level="INFO")["formatters"]["default"]["()"] is JsonFormatter
