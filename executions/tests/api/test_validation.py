"""Bad input gets a clear JSON error with the right status, never a 500."""

import json

import pytest
from django.test import Client, override_settings

from executions import services
from executions.documents import Execution
from integr8scode.api import MALFORMED_JSON


@pytest.fixture
def client():
    return Client()


def post(client, path, body, **headers):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", headers=headers)


@pytest.mark.parametrize("path", ["/execute", "/api/v1/executions"])
@pytest.mark.parametrize("body", ["{", "not json", b"\xff\xfe", '{"script": "x",}'])
def test_malformed_json_is_a_400(client, path, body):
    response = post(client, path, body)

    assert response.status_code == 400
    assert response.json() == {"detail": MALFORMED_JSON}


@pytest.mark.parametrize("path", ["/execute", "/api/v1/executions"])
@pytest.mark.parametrize("body", [{}, {"script": 42}, {"script": None}, {"script": ["print(1)"]}, [], "\"text\""])
def test_a_missing_or_non_string_script_is_a_422(client, path, body):
    response = post(client, path, body)

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


@pytest.mark.parametrize("path", ["/execute", "/api/v1/executions"])
def test_an_empty_script_is_a_422(client, path):
    response = post(client, path, {"script": ""})

    assert response.status_code == 422
    assert response.json() == {"detail": services.SCRIPT_EMPTY}


@override_settings(SCRIPT_MAX_BYTES=1000)
@pytest.mark.parametrize("path", ["/execute", "/api/v1/executions"])
def test_a_script_over_the_cap_is_a_413(client, path):
    response = post(client, path, {"script": "#" * 1001})

    assert response.status_code == 413
    assert response.json() == {"detail": services.SCRIPT_TOO_LARGE.format(size=1001, limit=1000)}
    assert Execution.objects.count() == 0


def test_a_body_larger_than_django_accepts_is_a_413(client):
    response = post(client, "/api/v1/executions", {"script": "#" * (4 * 1024 * 1024)})

    assert response.status_code == 413


@pytest.mark.parametrize(
    "limits",
    [{"memory_mb": 10**6}, {"wall_seconds": 3600}, {"cpu_seconds": 0}, {"output_bytes": -1}, {"gpus": 1},
     {"memory_mb": "64"}, {"memory_mb": 1.5}, {"memory_mb": 4}],
)
def test_limits_above_the_caps_or_malformed_are_a_422(client, limits):
    response = post(client, "/api/v1/executions", {"script": "pass", "limits": limits})

    assert response.status_code == 422, response.content
    assert response.json()["detail"]


def test_unknown_fields_are_a_422(client):
    response = post(client, "/api/v1/executions", {"script": "pass", "scirpt": "typo"})

    assert response.status_code == 422


def test_an_unknown_runtime_is_a_422(client):
    response = post(client, "/api/v1/executions", {"script": "pass", "runtime": "ruby"})

    assert response.status_code == 422
    assert "ruby" in response.json()["detail"]


@pytest.mark.parametrize("key", ["", "x" * 201, "naïve", "tab\there"])
def test_a_malformed_idempotency_key_is_a_422(client, key):
    response = post(client, "/api/v1/executions", {"script": "pass"}, **{"Idempotency-Key": key})

    assert response.status_code == 422


@pytest.mark.parametrize(
    "execution_id", ["abc123", "0" * 32, "Z" * 32, "../../etc/passwd", "%00", "a" * 5000, "0" * 31 + "g"]
)
@pytest.mark.parametrize("path", ["/result/{}", "/api/v1/executions/{}"])
def test_unknown_or_malformed_ids_are_a_404(client, path, execution_id):
    response = client.get(path.format(execution_id))

    assert response.status_code == 404
    assert "detail" in response.json()


def test_cancelling_an_unknown_execution_is_a_404(client):
    assert client.post("/api/v1/executions/" + "0" * 32 + "/cancel").status_code == 404


def test_too_little_memory_for_the_interpreter_itself_is_a_422_that_says_so(client):
    response = post(client, "/api/v1/executions", {"script": "pass", "limits": {"memory_mb": 8}})

    assert response.status_code == 422
    assert response.json()["detail"] == "limits.memory_mb=8 is below the minimum of 16: the interpreter alone needs about 10 MiB"
