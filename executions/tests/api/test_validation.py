"""Bad input gets a clear JSON error with the right status, never a 500."""

import json

import pytest
from django.test import Client, override_settings

from accounts.tests.helpers import bearer, obtain_tokens
from executions import services
from executions.documents import Execution
from executions.schemas import LONE_SURROGATE
from integr8scode.api import MALFORMED_JSON, NOT_JSON_MEDIA_TYPE
from scripts import services as script_services
from scripts.models import Script

pytestmark = pytest.mark.usefixtures("empty_store")  # counts or claims across the whole store


@pytest.fixture
def client():
    return Client()


def post(client, path, body, **headers):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", headers=headers)


@pytest.mark.parametrize("path", ["/execute", "/api/v1/executions"])
@pytest.mark.parametrize("body", ["{", "not json", b"\xff\xfe", '{"script": "x",}', "[" * 100_000 + "]" * 100_000])
def test_malformed_json_is_a_400(client, path, body):
    response = post(client, path, body)

    assert response.status_code == 400
    assert response.json() == {"detail": MALFORMED_JSON}


@pytest.mark.parametrize("path", ["/execute", "/api/v1/executions"])
@pytest.mark.parametrize("body", [{}, {"script": 42}, {"script": None}, {"script": ["print(1)"]}, [], '"text"'])
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
    [
        {"memory_mb": 10**6},
        {"wall_seconds": 3600},
        {"cpu_seconds": 0},
        {"output_bytes": -1},
        {"gpus": 1},
        {"memory_mb": "64"},
        {"memory_mb": 1.5},
        {"memory_mb": 4},
    ],
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
    assert (
        response.json()["detail"]
        == "limits.memory_mb=8 is below the minimum of 16: the interpreter alone needs about 10 MiB"
    )


# --- what JSON can spell but no store can keep -------------------------------------------

LONE = "\\ud800"  # as sent: the JSON escape of a lone surrogate


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/execute", '{"script": "print(1)LONE"}'),
        ("/api/v1/executions", '{"script": "LONE"}'),
        ("/api/v1/executions", '{"script": "pass", "stdin": "aLONEb"}'),
        ("/api/v1/executions", '{"script": "pass", "runtime": "LONE"}'),
        ("/api/v1/executions", '{"script": "pass", "LONE": 1}'),
    ],
)
def test_a_lone_surrogate_in_any_string_is_a_422_and_nothing_runs(client, path, body):
    response = post(client, path, body.replace("LONE", LONE))

    assert response.status_code == 422, response.content
    assert isinstance(response.json()["detail"], list)
    assert Execution.objects.count() == 0


def test_the_422_for_a_lone_surrogate_names_the_field_and_says_why(client):
    detail = post(client, "/api/v1/executions", '{"script": "pass", "stdin": "\\udfff"}').json()["detail"]

    assert [error["loc"] for error in detail] == [["body", "payload", "stdin"]]
    assert LONE_SURROGATE in detail[0]["msg"]


@pytest.fixture
def as_owner(owner):
    return bearer(obtain_tokens(Client(), owner)["access_token"])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/scripts", '{"title": "LONE", "source": "pass"}'),
        ("post", "/api/v1/scripts", '{"title": "t", "source": "LONE"}'),
        ("patch", "/api/v1/scripts/{key}", '{"title": "LONE"}'),
        ("post", "/api/v1/scripts/{key}/run", '{"stdin": "LONE"}'),
    ],
)
def test_a_lone_surrogate_in_a_script_field_is_a_422(client, as_owner, owner, make_script, method, path, body):
    script = make_script(owner, title="Before")

    response = getattr(client, method)(
        path.format(key=script.key), data=body.replace("LONE", LONE), content_type="application/json", headers=as_owner
    )

    assert response.status_code == 422, response.content
    assert Script.objects.get().title == "Before" and Execution.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("field", ["title", "source"])
def test_a_nul_character_in_a_saved_script_is_a_422(client, as_owner, field):
    body = {"title": "t", "source": "pass", field: "a\x00b"}

    response = post(client, "/api/v1/scripts", body, **as_owner)

    assert response.status_code == 422
    assert response.json() == {"detail": script_services.NUL_CHARACTER.format(field=field)}


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("path", ["/api/v1/executions", "/execute"])
def test_nan_and_infinity_are_not_json(client, path, number):
    response = post(client, path, f'{{"script": "pass", "limits": {{"wall_seconds": {number}}}}}')

    assert response.status_code == 400
    assert response.json() == {"detail": MALFORMED_JSON}


def test_a_number_too_large_to_be_finite_is_a_422(client):
    response = post(client, "/api/v1/executions", '{"script": "pass", "limits": {"wall_seconds": 1e400}}')

    assert response.status_code == 422
    assert any(error["type"] == "finite_number" for error in response.json()["detail"])


# --- bodies that are not JSON by their content type, and other refusals -------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "", "application/xml"])
@pytest.mark.parametrize("path", ["/execute", "/api/v1/executions"])
def test_a_body_that_does_not_say_it_is_json_is_a_415(client, path, content_type):
    response = client.post(path, data=json.dumps({"script": "print(1)"}), content_type=content_type)

    assert response.status_code == 415
    assert response.json() == {"detail": NOT_JSON_MEDIA_TYPE}
    assert Execution.objects.count() == 0


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json"])
def test_json_content_types_are_taken(client, content_type):
    response = client.post("/api/v1/executions", data=json.dumps({"script": "print(1)"}), content_type=content_type)

    assert response.status_code == 201


def test_a_method_an_operation_does_not_have_is_a_json_405_with_allow(client):
    response = client.put("/api/v1/executions")

    assert response.status_code == 405 and set(response["Allow"].split(", ")) == {"GET", "POST"}
    assert response.json() == {"detail": "Method Not Allowed"}


def test_a_host_not_served_is_a_json_400_on_api_paths(client):
    response = client.get("/api/v1/runtimes", headers={"Host": "evil.example"})

    assert response.status_code == 400
    assert response.json() == {"detail": "Bad Request"}
