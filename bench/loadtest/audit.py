"""``python -m bench.loadtest.audit LEDGER SINCE DEADLINE`` (with the server's environment):
what became of every execution of the test, read from the store itself, not sampled.

The ledger holds one JSON line per execution a test user was told about (its id and script
kind). Every one of them, and every execution the store holds from SINCE on (a submission
whose answer never reached its user included), must reach a final status within DEADLINE
seconds. Lost: an id a user was given that the store does not hold. Stuck: still queued or
running at the deadline. Wrong: final, but not what its script must give. Prints one JSON
object.
"""

import json
import os
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from bench.loadtest.scripts import SCRIPTS, outcome_problem

FIELDS = ("execution_id", "status", "error_type", "output", "created_at")
POLL_SECONDS = 1.0
LISTED = 20  # ids of lost, stuck or wrong executions shown


def ledger_read(path: Path) -> dict[str, str]:
    """execution id -> script kind."""
    lines = path.read_text().splitlines() if path.exists() else []
    return {entry["id"]: entry["kind"] for entry in map(json.loads, lines)}


def store_read(ids: set[str], since: datetime) -> dict[str, dict]:
    from executions.documents import Execution

    found = {doc.execution_id: doc for doc in Execution.objects(created_at__gte=since).only(*FIELDS)}
    missing = list(ids - found.keys())
    for start in range(0, len(missing), 500):  # created before SINCE by a skewed clock, or lost
        found.update(
            (doc.execution_id, doc) for doc in Execution.objects(pk__in=missing[start : start + 500]).only(*FIELDS)
        )
    return {
        key: {"status": doc.status, "error_type": doc.error_type, "output": doc.output or ""}
        for key, doc in found.items()
    }


def settle(ledger: dict[str, str], since: datetime, deadline: float) -> dict[str, dict]:
    """The store's view once nothing is queued or running, or at the deadline."""
    from executions.documents import Status

    while True:
        stored = store_read(set(ledger), since)
        if time.monotonic() >= deadline or all(row["status"] in Status.FINAL for row in stored.values()):
            return stored
        time.sleep(POLL_SECONDS)


def verdict(ledger: dict[str, str], stored: dict[str, dict]) -> dict:
    from executions.documents import Status

    lost = sorted(set(ledger) - stored.keys())
    stuck = sorted(key for key, row in stored.items() if row["status"] not in Status.FINAL)
    wrong = {
        key: problem
        for key, kind in ledger.items()
        if key in stored and key not in stuck and (problem := outcome_problem(SCRIPTS[kind], **stored[key]))
    }
    return {
        "acknowledged": len(ledger),
        "stored": len(stored),
        "unacknowledged": len(stored.keys() - ledger.keys()),
        "lost": len(lost),
        "stuck": len(stuck),
        "wrong": len(wrong),
        "by_status": dict(Counter(row["status"] for row in stored.values())),
        "by_error_type": dict(Counter(row["error_type"] for row in stored.values() if row["error_type"])),
        "lost_ids": lost[:LISTED],
        "stuck_ids": stuck[:LISTED],
        "wrong_examples": dict(list(wrong.items())[:LISTED]),
    }


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integr8scode.settings")
    django.setup()
    ledger = ledger_read(Path(sys.argv[1]))
    deadline = time.monotonic() + float(sys.argv[3])
    print(json.dumps(verdict(ledger, settle(ledger, datetime.fromisoformat(sys.argv[2]), deadline))))
