"""The permanent page of one execution: readable without JavaScript, live while running."""

import pytest
from django.contrib.auth import get_user_model
from django.utils.html import escape

from executions import views
from executions.documents import Status
from executions.runners.outcome import NOT_COMPILED
from executions.tests.factories import make_execution, make_running
from executions.tests.pages.test_editor_page import island_props

TRACEBACK = 'Traceback (most recent call last):\n  File "<script>", line 1\nZeroDivisionError: division by zero\n'


def page(client, execution):
    return client.get(f"/executions/{execution.execution_id}/")


def failed_run(**fields):
    defaults = dict(
        status=Status.FAILED,
        output="before\n",
        errors=TRACEBACK,
        error_type="runtime_error",
        exit_code=1,
        duration_ms=1534,
        cpu_ms=21,
        peak_memory_kb=9216,
    )
    return make_execution(**{**defaults, **fields})


def test_a_finished_execution_shows_its_script_output_errors_and_facts(client):
    execution = failed_run(script="print('before')\n1/0\n", stdin="some input")

    response = page(client, execution)

    assert response.status_code == 200
    html = response.content.decode()
    assert "print(&#x27;before&#x27;)\n1/0" in html
    assert "some input" in html
    assert '<span class="stream-stdout" data-stream="stdout">before\n</span>' in html
    assert '<span class="stream-stderr" data-stream="stderr">Traceback' in html
    assert 'data-status="failed">Failed</span>' in html
    assert "Runtime error (exit code 1)" in html
    for fact in ["1.53 s", "21 ms", "9.0 MiB", "<dd>1</dd>"]:
        assert fact in html


def test_a_finished_execution_page_needs_no_javascript(client):
    html = page(client, failed_run()).content.decode()

    assert "data-island" not in html and '<script type="module"' not in html


def test_output_is_escaped_not_interpreted(client):
    execution = make_execution(status=Status.COMPLETED, output="<script>alert(1)</script>\n", exit_code=0)

    html = page(client, execution).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"error_type": "cancelled", "error_message": "Cancelled on request."}, "Cancelled on request."),
        (
            {"error_type": "timeout", "error_message": "Wall-clock time limit exceeded"},
            "Wall-clock time limit exceeded",
        ),
        ({"error_type": "memory_limit", "error_message": ""}, views.ERROR_TYPE_LABELS["memory_limit"]),
        ({"error_type": "runtime_error", "exit_code": None, "signal": 9}, "Runtime error (killed by signal 9)"),
        (
            {"error_type": "runtime_error", "exit_code": 1, "exception_type": "KeyError", "exception_message": "'x'"},
            "KeyError: &#x27;x&#x27;",
        ),
        (
            {
                "error_type": "runtime_error",
                "exception_type": "ZeroDivisionError",
                "exception_message": "division by zero",
                "exception_line": 2,
            },
            "ZeroDivisionError: division by zero (line 2)",
        ),
        # The compiler's messages are the output; only a limit that stopped it is said.
        ({"error_type": "compile_error", "error_message": NOT_COMPILED["none"]}, "Compile error"),
        (
            {"error_type": "compile_error", "error_message": NOT_COMPILED["memory"]},
            "Compile error: The compiler ran out of memory",
        ),
    ],
)
def test_a_failed_execution_says_why_it_failed(client, fields, reason):
    html = page(client, failed_run(**fields)).content.decode()

    assert f'<span class="failure-reason">{reason}</span>' in html


def test_a_running_execution_page_carries_the_live_island_over_the_server_rendered_result(client):
    execution = make_running(output="0\n", output_seq=1)

    response = page(client, execution)

    html = response.content.decode()
    assert 'data-island="execution-live"' in html
    assert '<script type="module"' in html and "/static/islands/assets/execution-" in html
    assert 'data-status="running">Running</span>' in html and "0\n</span>" in html
    props = island_props(response, "execution-live-props")
    assert props["execution"]["execution_id"] == execution.execution_id
    assert props["execution"]["status"] == "running" and props["execution"]["output"] == "0\n"


def test_a_queued_execution_page_waits_for_output(client):
    html = page(client, make_execution()).content.decode()

    assert "Waiting for output…" in html and 'data-status="queued">Queued</span>' in html


@pytest.mark.parametrize("execution_id", ["0" * 32, "nope", "../../etc/passwd"])
def test_an_unknown_execution_is_the_sites_404_page(client, execution_id):
    response = client.get(f"/executions/{execution_id}/")

    assert response.status_code == 404
    assert "Nothing here" in response.content.decode()


@pytest.mark.django_db
def test_an_owned_execution_is_visible_to_its_owner_only(client):
    users = get_user_model().objects
    owner, other = users.create_user("owner", password="x" * 12), users.create_user("other", password="x" * 12)
    execution = make_execution(status=Status.COMPLETED, owner_id=owner.pk, output="secret\n")

    assert page(client, execution).status_code == 404
    client.force_login(other)
    assert page(client, execution).status_code == 404
    assert client.get(f"/?from={execution.execution_id}").content.decode().count("secret") == 0
    client.force_login(owner)
    assert page(client, execution).status_code == 200


def test_a_run_whose_sandbox_report_disagreed_says_so_and_an_honest_one_does_not(client):
    flagged = failed_run(flags=["exit_status", "cpu_time"])

    shown = escape(views.REPORT_DISAGREED.format(flags="exit_status, cpu_time"))
    assert shown in page(client, flagged).content.decode()
    assert "Sandbox report" not in page(client, failed_run()).content.decode()
    assert client.get(f"/api/v1/executions/{flagged.execution_id}").json()["flags"] == ["exit_status", "cpu_time"]


def test_a_finished_run_with_files_lists_them_shows_images_and_carries_the_files_island(client):
    from bson import ObjectId

    from executions.documents import OutputFile

    files = [
        OutputFile(name="figure-1.png", size=2048, content_type="image/png", file_id=ObjectId()),
        OutputFile(name="out/table.csv", size=10, content_type="text/csv", file_id=ObjectId()),
    ]
    execution = make_execution(status=Status.COMPLETED, files=files, files_truncated=True)

    html = page(client, execution).content.decode()

    url = f"/api/v1/executions/{execution.execution_id}/files/"
    assert f'<img class="file-image" src="{url}figure-1.png"' in html
    assert f'href="{url}out/table.csv" download="table.csv"' in html and "2.0 KiB" in html
    assert "were over the size or count limits" in html
    assert 'data-island="execution-files"' in html


def test_a_cancelled_execution_is_shown_as_cancelled_not_as_a_failure(client):
    execution = make_execution(status="failed", error_type="cancelled", error_message="Cancelled on request.")
    html = client.get(f"/executions/{execution.execution_id}/").content.decode()
    assert '<span class="badge badge-cancelled" role="status" data-status="failed">Cancelled</span>' in html
