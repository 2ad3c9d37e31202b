"""A load test's results from what its parts recorded: Locust's report (figures per endpoint
and every answer by status class), the audit of the executions, and the server's CPU time.
A run passes when no execution was lost, stuck or wrong and no answer was a 5xx."""

from bench.loadtest.recorder import QUOTA_SUFFIX

ANSWER_CLASSES = {
    "5xx": "server_errors_5xx",
    "4xx": "client_errors_4xx",
    "429": "quota_refusals_429",
    "failed": "no_answer_or_ws_failure",
}


def answers(report: dict) -> dict:
    """Counts of the answers that were not plain successes, over every endpoint, and the errors
    (Locust's failures: 5xx, unexpected 4xx, timeouts, WebSocket failures; never a 429)."""
    counts = dict.fromkeys(ANSWER_CLASSES.values(), 0)
    for classes in report["status_classes"].values():
        for status_class, key in ANSWER_CLASSES.items():
            counts[key] += classes.get(status_class, 0)
    return {"errors": report["total"]["failures"], **counts}


def endpoints(report: dict) -> dict:
    """Figures per endpoint; quota refusals (``... [429]``) folded into their endpoint's row."""
    rows = {
        name: {**figures, "quota_429": 0}
        for name, figures in report["endpoints"].items()
        if not name.endswith(QUOTA_SUFFIX)
    }
    for name, figures in report["endpoints"].items():
        if name.endswith(QUOTA_SUFFIX):
            base = name.removesuffix(QUOTA_SUFFIX)
            rows.setdefault(base, {"requests": 0, "failures": 0, "rps": 0.0, "quota_429": 0})
            rows[base]["quota_429"] += figures["requests"]
    return dict(sorted(rows.items(), key=lambda item: item[0].split(" ", 1)[1]))


def verdict(executions: dict, answered: dict) -> dict:
    problems = {
        "lost": executions["lost"],
        "stuck": executions["stuck"],
        "wrong": executions["wrong"],
        "server_errors_5xx": answered["server_errors_5xx"],
    }
    return {"passed": not any(problems.values()), **problems}


def results(*, run: dict, report: dict, executions: dict, server: dict) -> dict:
    answered = answers(report)
    return {
        "run": {**run, "duration_seconds": report["duration_seconds"]},
        "requests_per_second": report["total"]["rps"],
        "total": report["total"],
        "endpoints": endpoints(report),
        "answers": answered,
        "errors": report["errors"],
        "executions": executions,
        "server": server,
        "verdict": verdict(executions, answered),
    }


def _endpoint_lines(rows: dict, total: dict) -> list[str]:
    lines = [
        "| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | 429 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in [*rows.items(), ("Total", {**total, "quota_429": ""})]:
        lines.append(
            f"| {name} | {row['requests']} | {row['rps']} | {row.get('p50_ms', '')} | {row.get('p95_ms', '')} "
            f"| {row.get('p99_ms', '')} | {row.get('max_ms', '')} | {row['failures']} | {row['quota_429']} |"
        )
    return lines


def _problem_lines(executions: dict) -> list[str]:
    lines = [
        f"- {what}: {', '.join(executions[key])}"
        for what, key in (("lost", "lost_ids"), ("stuck", "stuck_ids"))
        if executions[key]
    ]
    return lines + [f"- wrong: {key}: {problem}" for key, problem in executions["wrong_examples"].items()]


def _only(user_classes: list[str] | str) -> str:
    return "" if user_classes == "all" else f" ({', '.join(user_classes)} only)"


def _quotas(quotas: dict | str) -> str:
    return ", ".join(f"{name}={value}" for name, value in quotas.items()) if isinstance(quotas, dict) else quotas


def markdown(results: dict) -> str:
    run, answered, executions, verdict_ = results["run"], results["answers"], results["executions"], results["verdict"]
    lines = [
        f"# Load test, {run['when']}: {'passed' if verdict_['passed'] else 'FAILED'}",
        "",
        f"{run['users']} users{_only(run['user_classes'])} (spawned at {run['spawn_rate']}/s) for {run['run_time']} "
        f"against {run['target']}, {run['cpus']} CPUs; quotas: {_quotas(run['quotas'])}.",
        "",
        f"- requests/s: **{results['requests_per_second']}** ({results['total']['requests']} requests "
        f"in {run['duration_seconds']} s)",
        f"- errors: **{answered['errors']}**; 5xx: **{answered['server_errors_5xx']}**; "
        f"other 4xx: {answered['client_errors_4xx']}; no answer or WebSocket failure: "
        f"{answered['no_answer_or_ws_failure']}; quota refusals (429, not errors): {answered['quota_refusals_429']}",
        f"- executions: {executions['acknowledged']} acknowledged to users, {executions['stored']} in the store "
        f"({executions['unacknowledged']} never acknowledged); lost **{executions['lost']}**, "
        f"stuck **{executions['stuck']}**, wrong result **{executions['wrong']}**; by status {executions['by_status']}",
    ]
    if results["server"]:
        lines.append(
            f"- server CPU seconds while the users ran: {results['server']['cpu_seconds']}; "
            f"records in its log: {results['server']['log_records'] or 'none'} (WARNING and above)"
        )
    lines += _problem_lines(executions)
    lines += ["", *_endpoint_lines(results["endpoints"], results["total"])]
    if results["errors"]:
        lines += ["", "| errors (most frequent) | occurrences |", "|---|---|"]
        lines += [
            f"| {error['endpoint']}: {error['error'][:160].replace('|', '/')} | {error['occurrences']} |"
            for error in results["errors"]
        ]
    return "\n".join(lines) + "\n"
