"""The API as clients meet it: a real Daphne server, real HTTP, real sandboxes."""

import secrets

import httpx
import pytest
from django.conf import settings

from conftest import wait_until


def result_when_final(http, execution_id: str, timeout: float = 30) -> dict:
    def final():
        body = http.get(f"/result/{execution_id}").json()
        return body if body["status"] in ("completed", "failed") else None

    return wait_until(final, timeout=timeout, interval=0.05, message=f"{execution_id} to finish")


def test_the_seed_endpoints_work_exactly_as_written(http):
    response = http.post("/execute", json={"script": "print('Hello, Integr8sCode!')"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"execution_id", "status"} and body["status"] == "queued"
    result = result_when_final(http, body["execution_id"])
    assert {k: result[k] for k in ("execution_id", "status", "output", "errors")} == {
        "execution_id": body["execution_id"],
        "status": "completed",
        "output": "Hello, Integr8sCode!\n",
        "errors": None,
    }


def test_a_failing_script_reports_its_traceback_in_errors(http):
    execution_id = http.post("/execute", json={"script": "1/0"}).json()["execution_id"]

    result = result_when_final(http, execution_id)

    assert result["status"] == "failed" and result["error_type"] == "runtime_error"
    assert "ZeroDivisionError" in result["errors"]


def test_v1_submit_with_wait_returns_the_finished_execution(http):
    response = http.post(
        "/api/v1/executions?wait=true",
        json={
            "script": "import sys; print(sys.stdin.read().upper())",
            "stdin": "hi",
            "limits": {"wall_seconds": 5, "memory_mb": 64},
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["output"], body["exit_code"]) == ("completed", "HI\n", 0)
    assert body["limits"]["memory_mb"] == 64 and body["limits"]["wall_seconds"] == 5
    assert body["cpu_ms"] is not None and body["peak_memory_kb"] > 0 and body["duration_ms"] is not None


def test_v1_wait_returns_the_unfinished_execution_when_it_outlives_its_wall_limit(http):
    response = http.post(
        "/api/v1/executions?wait=true", json={"script": "import time; time.sleep(2)", "limits": {"wall_seconds": 1}}
    )

    assert response.json()["status"] in ("completed", "failed", "running", "queued")
    execution_id = response.json()["execution_id"]
    assert result_when_final(http, execution_id)["error_type"] == "timeout"


def test_a_retry_with_the_same_idempotency_key_returns_the_original(http):
    first = http.post("/api/v1/executions", json={"script": "print(1)"}, headers={"Idempotency-Key": "retry-1"})
    again = http.post("/api/v1/executions", json={"script": "print(1)"}, headers={"Idempotency-Key": "retry-1"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["execution_id"] == again.json()["execution_id"]


def caller_at(server, address: str) -> httpx.Client:
    """A client connecting from ``address`` (any of 127.0.0.0/8): another anonymous caller."""
    return httpx.Client(base_url=server.url, transport=httpx.HTTPTransport(local_address=address), timeout=30)


def test_anonymous_callers_choosing_the_same_idempotency_key_never_meet(daphne_server):
    key = {"Idempotency-Key": secrets.token_hex(8)}
    echo = "print(input())"
    with caller_at(daphne_server, "127.0.0.2") as one, caller_at(daphne_server, "127.0.0.3") as two:
        mine = one.post("/api/v1/executions?wait=true", json={"script": echo, "stdin": "mine"}, headers=key)
        theirs = two.post("/api/v1/executions?wait=true", json={"script": echo, "stdin": "theirs"}, headers=key)
        retried = two.post("/api/v1/executions", json={"script": "print('retry')"}, headers=key)

    assert (mine.status_code, theirs.status_code, retried.status_code) == (201, 201, 200)
    assert mine.json()["execution_id"] != theirs.json()["execution_id"] == retried.json()["execution_id"]
    assert (theirs.json()["stdin"], theirs.json()["output"]) == ("theirs", "theirs\n")
    assert "mine" not in str(theirs.json()) + str(retried.json())


def test_cancel_stops_a_running_script(http):
    execution_id = http.post("/api/v1/executions", json={"script": "import time\nwhile True: time.sleep(0.1)"}).json()[
        "execution_id"
    ]
    wait_until(lambda: http.get(f"/api/v1/executions/{execution_id}").json()["status"] == "running", timeout=20)

    response = http.post(f"/api/v1/executions/{execution_id}/cancel")

    assert response.status_code == 200
    assert result_when_final(http, execution_id, timeout=10)["error_type"] == "cancelled"
    assert http.post(f"/api/v1/executions/{execution_id}/cancel").status_code == 409


def test_runtimes_lists_what_this_server_runs_and_an_anonymous_callers_caps(http):
    body = http.get("/api/v1/runtimes").json()

    assert any(r["name"].startswith("python3") and r["default"] for r in body["runtimes"])
    assert {r["isolation"] for r in body["runtimes"]} == {"bubblewrap"}  # LOCAL_ISOLATION's default
    # The visitors' defaults, but for the wall limit the live test server raises to 10 s.
    assert body["limits"] == {
        "wall_seconds": 10.0,
        "cpu_seconds": 5,
        "memory_mb": 64,
        "processes": 32,
        "disk_mb": 8,
        "output_bytes": 262144,
    }
    assert body["script_max_bytes"] == 65536


def test_the_openapi_docs_are_served(http):
    assert http.get("/api/docs").status_code == 200
    schema = http.get("/api/openapi.json").json()
    assert {"/execute", "/result/{execution_id}", "/api/v1/executions"} <= set(schema["paths"])


@pytest.mark.parametrize(
    ("name", "script", "error_type", "check"),
    [
        ("infinite loop", "while True: pass", "timeout", None),
        ("fork bomb", "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass", "timeout", None),
        ("memory hog", "x = []\nwhile True: x.append(bytearray(1 << 20))", "memory_limit", None),
        ("output flood", "while True: print('x' * 1000)", "output_limit", "truncated"),
        (
            "disk filler",
            "f = open('/tmp/fill', 'wb')\nwhile True: f.write(b'0' * (1 << 20))",
            "runtime_error",
            "No space left on device|File too large",
        ),
        (
            "network connect",
            "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)",
            "runtime_error",
            "OSError|unreachable",
        ),
        (
            "server environment",
            "import os\nassert 'SECRET_KEY' not in os.environ and 'VAR_DIR' not in os.environ, "
            "dict(os.environ)\nprint(sorted(os.environ))",
            None,
            None,
        ),
        (
            "server files",
            "import os\nfor p in ['/etc/shadow', '/root/.bash_history', os.getcwd() + '/manage.py', "
            f"'{settings.BASE_DIR}/manage.py']:\n"
            "    assert not os.path.exists(p) or not os.access(p, os.R_OK), p\nprint('ok')",
            None,
            None,
        ),
        ("SIGSTOP itself", "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)", "timeout", None),
        ("closes stdout", "import os, time\nos.close(1)\nwhile True: time.sleep(0.1)", "timeout", None),
    ],
)
def test_hostile_scripts_are_contained_and_reported(http, name, script, error_type, check):
    import re

    body = http.post("/api/v1/executions?wait=true", json={"script": script, "limits": {"wall_seconds": 2}}).json()
    result = body if body["status"] in ("completed", "failed") else result_when_final(http, body["execution_id"])
    result = http.get(f"/api/v1/executions/{body['execution_id']}").json()

    assert result["error_type"] == error_type, (name, result["error_message"], (result["errors"] or "")[-500:])
    assert result["status"] == ("completed" if error_type is None else "failed")
    if check == "truncated":
        assert result["output_truncated"] and len(result["output"].encode()) <= result["limits"]["output_bytes"]
    elif check:
        assert re.search(check, result["errors"] or ""), result["errors"]
    # The server is still healthy afterwards.
    assert http.post("/api/v1/executions?wait=true", json={"script": "print('ok')"}).json()["output"] == "ok\n"


@pytest.mark.parametrize(
    ("method", "path", "content", "content_type", "status"),
    [
        ("POST", "/api/v1/executions", '{"script": "print(1)\\ud800"}', "application/json", 422),
        ("POST", "/execute", '{"script": "pass", "limits": {"wall_seconds": NaN}}', "application/json", 400),
        (
            "POST",
            "/api/v1/executions",
            '{"script": "pass", "limits": {"memory_mb": Infinity}}',
            "application/json",
            400,
        ),
        ("POST", "/api/v1/executions", '{"script": "print(1)"}', "text/plain", 415),
        ("DELETE", "/api/v1/executions", "", None, 405),
    ],
)
def test_bad_input_over_real_http_gets_a_json_4xx(http, method, path, content, content_type, status):
    headers = {"Content-Type": content_type} if content_type else {}

    response = http.request(method, path, content=content, headers=headers)

    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json") and response.json()["detail"]


def test_a_runtime_error_carries_its_exception_and_line(http):
    failed = http.post("/api/v1/executions?wait=true", json={"script": "x = 1\nprint(x / 0)\n"}).json()
    assert (failed["status"], failed["error_type"]) == ("failed", "runtime_error")
    assert (failed["exception_type"], failed["exception_message"], failed["exception_line"]) == (
        "ZeroDivisionError",
        "division by zero",
        2,
    )
    syntax = http.post("/api/v1/executions?wait=true", json={"script": "print('a'\n"}).json()
    assert (syntax["exception_type"], syntax["exception_line"]) == ("SyntaxError", 1)
    fine = http.post("/api/v1/executions?wait=true", json={"script": "print('ok')"}).json()
    assert (fine["exception_type"], fine["exception_message"], fine["exception_line"]) == (None, None, None)
    exited = http.post("/api/v1/executions?wait=true", json={"script": "raise SystemExit(3)"}).json()
    assert (exited["exit_code"], exited["exception_type"]) == (3, None)
