from bench.loadtest.summary import markdown, results

# What the Locust side recorded in a short run (trimmed): two endpoints, one refused by a quota,
# one WebSocket figure, a 5xx and a timeout among the failures.
REPORT = {
    "total": {
        "requests": 60,
        "failures": 3,
        "rps": 6.0,
        "avg_ms": 40.0,
        "max_ms": 900.0,
        "p50_ms": 20,
        "p95_ms": 300,
        "p99_ms": 800,
    },
    "duration_seconds": 10.0,
    "endpoints": {
        "POST /execute": {
            "requests": 30,
            "failures": 1,
            "rps": 3.0,
            "avg_ms": 30.0,
            "max_ms": 110.0,
            "p50_ms": 20,
            "p95_ms": 90,
            "p99_ms": 110,
        },
        "POST /execute [429]": {
            "requests": 5,
            "failures": 0,
            "rps": 0.5,
            "avg_ms": 3.0,
            "max_ms": 4.0,
            "p50_ms": 3,
            "p95_ms": 4,
            "p99_ms": 4,
        },
        "WS /ws/executions/ submit to finished": {
            "requests": 25,
            "failures": 2,
            "rps": 2.5,
            "avg_ms": 60.0,
            "max_ms": 900.0,
            "p50_ms": 50,
            "p95_ms": 300,
            "p99_ms": 800,
        },
    },
    "status_classes": {
        "POST /execute": {"2xx": 29, "5xx": 1},
        "POST /execute [429]": {"429": 5},
        "WS /ws/executions/ submit to finished": {"ok": 23, "failed": 2},
    },
    "errors": [{"endpoint": "POST /execute", "error": "HTTPError 500 | boom", "occurrences": 1}],
}
EXECUTIONS = {
    "acknowledged": 54,
    "stored": 55,
    "unacknowledged": 1,
    "lost": 0,
    "stuck": 0,
    "wrong": 0,
    "by_status": {"completed": 50, "failed": 5},
    "by_error_type": {"runtime_error": 5},
    "lost_ids": [],
    "stuck_ids": [],
    "wrong_examples": {},
}
RUN = {
    "when": "2026-01-01 00:00:00",
    "users": 4,
    "spawn_rate": 2.0,
    "run_time": "10s",
    "target": "its own server",
    "accounts": 2,
    "user_classes": "all",
    "cpus": 2,
    "python": "3.13.0",
    "quotas": {"QUOTA_ANON_SUBMISSIONS_PER_MINUTE": "6000"},
}


def summarised(executions=EXECUTIONS, report=REPORT) -> dict:
    return results(
        run=RUN,
        report=report,
        executions=executions,
        server={"cpu_seconds": {"web": 1.0, "sandboxes": 0.5, "store": 0.5}, "log_records": {}},
    )


def test_quota_refusals_are_counted_apart_from_errors_and_folded_into_their_endpoint():
    outcome = summarised()

    assert outcome["answers"]["quota_refusals_429"] == 5
    assert outcome["answers"]["errors"] == 3
    assert "POST /execute [429]" not in outcome["endpoints"]
    assert outcome["endpoints"]["POST /execute"]["quota_429"] == 5
    assert outcome["endpoints"]["POST /execute"]["p95_ms"] == 90  # the refusals' own times stay out


def test_every_endpoint_keeps_its_rate_and_percentiles():
    row = summarised()["endpoints"]["WS /ws/executions/ submit to finished"]

    assert (row["rps"], row["p50_ms"], row["p95_ms"], row["p99_ms"]) == (2.5, 50, 300, 800)


def test_server_errors_and_websocket_failures_are_counted_by_class():
    answers = summarised()["answers"]

    assert answers["server_errors_5xx"] == 1
    assert answers["no_answer_or_ws_failure"] == 2


def test_a_5xx_fails_the_run_even_with_every_execution_accounted_for():
    assert summarised()["verdict"] == {"passed": False, "lost": 0, "stuck": 0, "wrong": 0, "server_errors_5xx": 1}


def test_a_run_without_5xx_and_with_every_execution_final_passes():
    report = {**REPORT, "status_classes": {"POST /execute": {"2xx": 30}}}

    assert summarised(report=report)["verdict"]["passed"]


def test_a_lost_or_stuck_execution_fails_the_run():
    report = {**REPORT, "status_classes": {}}

    assert not summarised({**EXECUTIONS, "lost": 1}, report)["verdict"]["passed"]
    assert not summarised({**EXECUTIONS, "stuck": 1}, report)["verdict"]["passed"]


def test_the_markdown_gives_the_figures_and_keeps_its_tables_whole():
    text = markdown(summarised())

    assert "FAILED" in text
    assert "| POST /execute | 30 | 3.0 | 20 | 90 | 110 | 110.0 | 1 | 5 |" in text
    assert "lost **0**, stuck **0**" in text
    assert "HTTPError 500 / boom" in text  # a | in an error would split its row


def test_the_markdown_names_the_executions_that_went_wrong():
    executions = {
        **EXECUTIONS,
        "stuck": 1,
        "stuck_ids": ["abc"],
        "wrong": 1,
        "wrong_examples": {"def": "failed/timeout instead of completed/None"},
    }

    text = markdown(summarised(executions))

    assert "- stuck: abc" in text
    assert "- wrong: def: failed/timeout instead of completed/None" in text
