"""The embedded engine stays exact for our documents while its writes stop scaling with the
collection."""

import pytest
from pymongo.errors import DuplicateKeyError

from executions.documents import Execution
from executions.tests.factories import make_execution


def test_a_duplicate_string_id_is_still_rejected():
    execution = make_execution()

    with pytest.raises(DuplicateKeyError):
        Execution._get_collection().insert_one({"_id": execution.execution_id, "script": "x"})


def test_queries_on_status_still_match_exactly():
    done = make_execution(status="completed")
    queued = make_execution()

    assert [e.execution_id for e in Execution.objects(status="queued")] == [queued.execution_id]
    assert Execution.objects(status__in=["completed"]).count() == 1 and done.execution_id


def test_writes_do_not_read_back_every_stored_document(monkeypatch):
    from integr8scode.mongo_engine import EmbeddedEngine

    scans = []
    original = EmbeddedEngine._load_documents
    monkeypatch.setattr(EmbeddedEngine, "_load_documents", lambda self, *a, **k: scans.append(a) or original(self, *a, **k))
    for _ in range(5):
        make_execution(status="completed")
    execution = make_execution()

    Execution.objects(execution_id=execution.execution_id, status="queued").update(set__status="running")

    assert scans == []


def test_writes_do_not_dispatch_change_stream_events(monkeypatch):
    from integr8scode.mongo_engine import EmbeddedEngine

    leases = []
    original = EmbeddedEngine._acquire_change_dispatch_lease
    monkeypatch.setattr(EmbeddedEngine, "_acquire_change_dispatch_lease",
                        lambda self, *a, **k: leases.append(a) or original(self, *a, **k))

    execution = make_execution()
    Execution.objects(execution_id=execution.execution_id).update(set__status="running")

    assert leases == []
