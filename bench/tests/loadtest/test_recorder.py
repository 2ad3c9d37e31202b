import json
from types import SimpleNamespace

from bench.loadtest.recorder import Recorder, status_class


def test_answers_are_classed_by_status_with_quota_refusals_apart():
    assert status_class("POST /execute", 201, None) == "2xx"
    assert status_class("POST /execute", 503, Exception()) == "5xx"
    assert status_class("POST /execute", 429, None) == "429"
    assert status_class("/ws/executions/ [429]", None, None) == "429"
    assert status_class("/ws/executions/ submit to finished", None, TimeoutError()) == "failed"
    assert status_class("POST /execute", 0, ConnectionError()) == "failed"


def _entry(method: str, name: str, times: dict[int, int]) -> SimpleNamespace:
    """Enough of a Locust StatsEntry for the recorder."""
    ordered = sorted(times.items())

    def percentile(fraction: float) -> int:
        seen, wanted = 0, fraction * sum(times.values())
        for value, count in ordered:
            seen += count
            if seen >= wanted:
                return value
        return 0

    return SimpleNamespace(
        method=method,
        name=name,
        num_requests=sum(times.values()),
        num_failures=0,
        total_rps=2.0,
        avg_response_time=10.0,
        max_response_time=max(times),
        start_time=100.0,
        last_request_timestamp=110.0,
        get_response_time_percentile=percentile,
    )


def test_the_report_holds_locusts_figures_per_endpoint_and_the_status_classes(tmp_path):
    recorder = Recorder(tmp_path / "ledger.jsonl", tmp_path / "report.json")
    recorder.on_request("POST", "/execute", response=SimpleNamespace(status_code=200))
    recorder.on_request("POST", "/execute", response=SimpleNamespace(status_code=500), exception=Exception())
    entry = _entry("POST", "/execute", {10: 90, 200: 9, 900: 1})
    stats = SimpleNamespace(total=entry, entries={("/execute", "POST"): entry}, errors={})

    recorder.write(stats)

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["endpoints"]["POST /execute"]["p50_ms"] == 10
    assert report["endpoints"]["POST /execute"]["p99_ms"] == 200
    assert report["status_classes"] == {"POST /execute": {"2xx": 1, "5xx": 1}}
    assert report["duration_seconds"] == 10.0


def test_every_execution_is_appended_to_the_ledger_as_it_is_told(tmp_path):
    recorder = Recorder(tmp_path / "ledger.jsonl", tmp_path / "report.json")

    recorder.execution("a" * 32, "hello", "api")
    recorder.execution("b" * 32, "fails", "websocket")

    lines = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    assert [line["id"][0] for line in lines] == ["a", "b"]
