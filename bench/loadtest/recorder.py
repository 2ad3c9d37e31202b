"""The Locust side's record of a run: every execution a user was told about (appended to the
ledger as it happens, so a crash loses none), every answer by status class, and at the end
Locust's own figures per endpoint, written as one JSON report.

A quota refusal (429) is expected under load and is not an error: users report it under its
endpoint's name with a ``[429]`` suffix, as a success, so it neither counts as a failure nor
shortens the endpoint's own latencies.
"""

import json
import os
from collections import Counter, defaultdict
from pathlib import Path

QUOTA_SUFFIX = " [429]"
PERCENTILES = {"p50_ms": 0.5, "p95_ms": 0.95, "p99_ms": 0.99}
ERRORS_LISTED = 10


def status_class(name: str, status: int | None, exception) -> str:
    if status == 429 or name.endswith(QUOTA_SUFFIX):
        return "429"
    if not status:
        return "failed" if exception else "ok"  # no HTTP status: a WebSocket figure, or no answer
    return f"{status // 100}xx"


def entry_figures(entry) -> dict:
    """One Locust ``StatsEntry`` (an endpoint, or the total) as the report gives it."""
    figures = {
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": round(entry.total_rps, 2),
        "avg_ms": round(entry.avg_response_time, 1),
        "max_ms": round(entry.max_response_time or 0, 1),
    }
    figures.update((name, entry.get_response_time_percentile(p)) for name, p in PERCENTILES.items())
    return figures


class Recorder:
    def __init__(self, ledger: Path, report: Path):
        self.ledger, self.report = ledger, report
        self.classes: dict[str, Counter] = defaultdict(Counter)

    def execution(self, execution_id: str, kind: str, via: str) -> None:
        with self.ledger.open("a") as ledger:
            ledger.write(json.dumps({"id": execution_id, "kind": kind, "via": via}) + "\n")

    def on_request(self, request_type: str, name: str, response=None, exception=None, **_) -> None:
        status = getattr(response, "status_code", None)
        self.classes[f"{request_type} {name}"][status_class(name, status, exception)] += 1

    def write(self, stats) -> None:
        """Locust's final ``RequestStats`` and the status classes, to the report file."""
        errors = sorted(stats.errors.values(), key=lambda error: -error.occurrences)[:ERRORS_LISTED]
        self.report.write_text(
            json.dumps(
                {
                    "total": entry_figures(stats.total),
                    "duration_seconds": round((stats.total.last_request_timestamp or 0) - stats.total.start_time, 1),
                    "endpoints": {
                        f"{entry.method} {entry.name}": entry_figures(entry) for entry in stats.entries.values()
                    },
                    "status_classes": {name: dict(counts) for name, counts in sorted(self.classes.items())},
                    "errors": [
                        {
                            "endpoint": f"{error.method} {error.name}",
                            "error": str(error.error),
                            "occurrences": error.occurrences,
                        }
                        for error in errors
                    ],
                },
                indent=2,
            )
        )


def recorder_from_env() -> Recorder:
    return Recorder(Path(os.environ["LOADTEST_LEDGER"]), Path(os.environ["LOADTEST_REPORT"]))
