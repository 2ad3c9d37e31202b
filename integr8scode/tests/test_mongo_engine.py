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


@pytest.fixture
def compiled_queries(monkeypatch):
    """Every query on executions that the engine compiles to SQL (one it cannot answer by key)."""
    from integr8scode.mongo_engine import EmbeddedEngine

    compiled = []
    original = EmbeddedEngine._compile_read_execution_plan

    def compile_plan(self, db_name, coll_name, *args, **kwargs):
        if coll_name == Execution._get_collection_name():
            compiled.append(args)
        return original(self, db_name, coll_name, *args, **kwargs)

    monkeypatch.setattr(EmbeddedEngine, "_compile_read_execution_plan", compile_plan)
    return compiled


def test_filters_on_the_id_and_another_field_are_answered_by_key_and_still_exact(compiled_queries):
    collection = Execution._get_collection()
    queued, other = make_execution(), make_execution()

    assert collection.find_one({"_id": queued.execution_id, "status": "running"}) is None
    assert collection.find_one({"_id": queued.execution_id, "status": "queued"}, {"status": 1}) == {
        "_id": queued.execution_id, "status": "queued"}
    assert list(collection.find({"_id": queued.execution_id, "status": {"$in": ["queued", "running"]}},
                                {"_id": 1})) == [{"_id": queued.execution_id}]
    assert collection.update_one({"_id": queued.execution_id, "status": "running"},
                                 {"$set": {"worker": "w"}}).matched_count == 0
    claimed = Execution.objects(execution_id=queued.execution_id, status="queued").modify(new=True, set__status="running")
    assert claimed.status == "running"
    assert Execution.objects(execution_id=queued.execution_id, status="queued").modify(set__status="failed") is None

    assert compiled_queries == []
    assert Execution.objects.get(execution_id=other.execution_id).status == "queued"
