"""The editor page at ``/``: a server-rendered shell around the editor island."""

import json
import re

from executions.documents import Status
from executions.tests.factories import make_execution


def island_props(response, element_id: str) -> dict:
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    assert match, f"no json_script #{element_id}"
    return json.loads(match.group(1))


def test_anyone_gets_the_editor_page_with_its_island_and_assets(client):
    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-island="editor"' in html and 'data-props="editor-props"' in html
    assert re.search(r'<script type="module"[^>]* src="/static/islands/assets/editor-[\w-]+\.js"', html)
    assert re.search(r'<link rel="stylesheet" href="/static/islands/assets/site-[\w-]+\.css"', html)


def test_a_server_of_python_alone_says_so_in_the_heading(client):
    html = client.get("/").content.decode()

    # Beside other languages it is "Run code" (browser/test_languages.py).
    assert '<h1 class="page-title">Run Python</h1>' in html


def test_the_island_gets_the_api_and_websocket_urls_labels_and_a_csrf_token(client):
    props = island_props(client.get("/"), "editor-props")

    assert props["urls"]["submit"] == "/ws/executions/"
    assert props["urls"]["submit_http"] == "/api/v1/executions"
    assert props["urls"]["cancel"] == "/api/v1/executions/__id__/cancel"
    assert props["urls"]["websocket"] == "/ws/executions/__id__/"
    assert props["urls"]["page"] == "/executions/__id__/"
    assert props["labels"]["status"]["failed"] == "Failed"
    assert props["csrf_token"]


def test_without_a_source_the_editor_starts_from_an_example(client):
    props = island_props(client.get("/"), "editor-props")

    assert props["script"] is None and props["stdin"] == ""


def test_the_editor_opens_the_script_and_stdin_of_an_execution_named_by_from(client):
    source = make_execution(script="print(input())", stdin="hello", status=Status.COMPLETED)

    props = island_props(client.get(f"/?from={source.execution_id}"), "editor-props")

    assert (props["script"], props["stdin"], props["runtime"]) == ("print(input())", "hello", source.runtime)


def test_an_unknown_source_falls_back_to_an_example(client):
    for source in ["0" * 32, "not-an-id", ""]:
        props = island_props(client.get(f"/?from={source}"), "editor-props")
        assert props["script"] is None


def test_the_page_says_what_to_do_without_javascript(client):
    html = client.get("/").content.decode()

    assert "<noscript>" in html and "The editor needs JavaScript" in html


def test_the_editor_knows_the_callers_caps_and_rate_before_a_run(client, settings, owner):
    settings.QUOTAS = {
        "anonymous": {"submissions_per_minute": 6, "concurrent_executions": 1, "cpu_seconds_per_day": 0},
        "user": {"submissions_per_minute": 60, "concurrent_executions": 4, "cpu_seconds_per_day": 0},
    }
    anonymous = island_props(client.get("/"), "editor-props")
    bare = next(runtime for runtime in anonymous["runtimes"] if runtime["name"] == settings.BARE_RUNTIME)
    assert bare["limits"] == {
        "wall_seconds": settings.ANONYMOUS_EXECUTION_LIMITS["wall_seconds"],
        "cpu_seconds": settings.ANONYMOUS_EXECUTION_LIMITS["cpu_seconds"],
        "memory_mb": settings.ANONYMOUS_EXECUTION_LIMITS["memory_mb"],
    }
    assert bare["interactive"] and bare["interactive_wall_seconds"] == settings.ANONYMOUS_INTERACTIVE_WALL_SECONDS
    assert anonymous["runs_per_minute"] == 6
    client.force_login(owner)
    assert island_props(client.get("/"), "editor-props")["runs_per_minute"] == 60
