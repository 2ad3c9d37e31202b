"""The embedded engine stays exact for our documents while its work stops scaling with the
collection. The engine runs in this process here (the server runs it in a child process), so
the tests can watch what it does."""

import asyncio
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pymongo
import pytest
from mongoeco.engines._sqlite_connection import SQLiteConnection
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from executions.documents import Execution
from integr8scode.mongo_engine import EmbeddedEngine
from integr8scode.mongo_server import start_server


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(start_server(tmp_path_factory.mktemp("engine")), loop).result(30)
    client = pymongo.MongoClient(server.address.uri)
    yield client["integr8scode"]["executions"]
    client.close()
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def execution(collection, **fields) -> str:
    document = {"_id": uuid.uuid4().hex, "script": "print('hi')", "status": "queued", "output": "", **fields}
    collection.insert_one(document)
    return document["_id"]


@pytest.fixture
def watch(monkeypatch):
    """Record the calls of one engine method."""

    def watching(name: str) -> list:
        calls, original = [], getattr(EmbeddedEngine, name)

        def recorded(self, *args, **kwargs):
            calls.append(args)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(EmbeddedEngine, name, recorded)
        return calls

    return watching


def test_a_duplicate_string_id_is_still_rejected(collection):
    existing = execution(collection)

    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"_id": existing, "script": "x"})


def test_queries_on_status_still_match_exactly(collection):
    done = execution(collection, status="completed", owner=1)
    queued = execution(collection, owner=1)

    assert [d["_id"] for d in collection.find({"owner": 1, "status": "queued"})] == [queued]
    assert collection.count_documents({"owner": 1, "status": {"$in": ["completed"]}}) == 1 and done


def test_writes_do_not_read_back_every_stored_document(collection, watch):
    scans = watch("_load_documents")
    for _ in range(5):
        execution(collection, status="completed")
    queued = execution(collection)

    collection.update_one({"_id": queued, "status": "queued"}, {"$set": {"status": "running"}})

    assert scans == []


def test_writes_do_not_dispatch_change_stream_events(collection, watch):
    leases = watch("_acquire_change_dispatch_lease")

    queued = execution(collection)
    collection.update_one({"_id": queued}, {"$set": {"status": "running"}})

    assert leases == []


def test_filters_on_the_id_and_another_field_are_answered_by_key_and_still_exact(collection, watch):
    compiled = watch("_compile_read_execution_plan")
    queued, other = execution(collection), execution(collection)

    assert collection.find_one({"_id": queued, "status": "running"}) is None
    assert collection.find_one({"_id": queued, "status": "queued"}, {"status": 1}) == {
        "_id": queued,
        "status": "queued",
    }
    assert list(collection.find({"_id": queued, "status": {"$in": ["queued", "running"]}}, {"_id": 1})) == [
        {"_id": queued}
    ]
    assert collection.update_one({"_id": queued, "status": "running"}, {"$set": {"worker": "w"}}).matched_count == 0
    claimed = collection.find_one_and_update(
        {"_id": queued, "status": "queued"}, {"$set": {"status": "running"}}, return_document=ReturnDocument.AFTER
    )
    assert claimed["status"] == "running"
    assert collection.find_one_and_update({"_id": queued, "status": "queued"}, {"$set": {"status": "failed"}}) is None

    assert compiled == []
    assert collection.find_one({"_id": other})["status"] == "queued"


def test_filters_on_a_list_of_ids_are_answered_by_key_and_still_exact(collection, watch):
    compiled = watch("_compile_read_execution_plan")
    done, queued = execution(collection, status="completed", cpu_ms=7), execution(collection)
    missing = uuid.uuid4().hex

    found = collection.find({"_id": {"$in": [done, queued, missing, done]}}, {"status": 1, "cpu_ms": 1})
    assert sorted(found, key=lambda d: d["status"]) == [
        {"_id": done, "status": "completed", "cpu_ms": 7},
        {"_id": queued, "status": "queued"},
    ]
    assert [d["_id"] for d in collection.find({"_id": {"$in": [done, queued]}, "status": "queued"})] == [queued]
    assert len(list(collection.find({"_id": {"$in": [done, queued]}}).limit(1))) == 1
    assert list(collection.find({"_id": {"$in": [missing]}})) == []

    assert compiled == []


def test_a_lookup_of_one_id_that_asks_for_more_than_one_result_is_answered_by_key(collection, watch):
    compiled = watch("_compile_read_execution_plan")
    queued = execution(collection)

    assert [d["_id"] for d in collection.find({"_id": queued}).limit(2)] == [queued]  # as mongoengine's get()
    assert list(collection.find({"_id": uuid.uuid4().hex})) == []

    assert compiled == []


# --- compound indexes: filters on their leading fields read only those entries ------------

# A plan line of SQLite's that reads every stored document of the collection.
WHOLE_COLLECTION = re.compile(
    r"^SCAN documents|^SEARCH documents USING (COVERING )?INDEX \S+ \(db_name=\? AND coll_name=\?\)$"
)


@pytest.fixture(scope="module")
def indexed(collection):
    """A collection with the indexes of ``executions`` (as ``Execution`` declares them)."""
    indexed = collection.database["indexed"]
    for spec in Execution._meta["index_specs"]:
        indexed.create_index(spec["fields"], **{key: value for key, value in spec.items() if key != "fields"})
    return indexed


@pytest.fixture
def whole_reads(monkeypatch):
    """The statements over stored documents that SQLite answers by reading all of them."""
    found, execute = [], SQLiteConnection.execute

    def explained(self, sql, *args):
        if sql.lstrip().upper().startswith("SELECT") and "FROM documents" in sql:
            plan = [row[3] for row in execute(self, "EXPLAIN QUERY PLAN " + sql, *args).fetchall()]
            if any(WHOLE_COLLECTION.search(line) for line in plan):
                found.append((" ".join(sql.split()), plan))
        return execute(self, sql, *args)

    monkeypatch.setattr(SQLiteConnection, "execute", explained)
    return found


def stored(collection, **fields) -> str:
    return execution(collection, created_at=datetime.now(UTC), **fields)


def test_a_lookup_by_scope_and_key_reads_only_that_key_and_finds_exactly_its_execution(indexed, whole_reads):
    mine = stored(indexed, idempotency_scope="ip:1", idempotency_key="k")
    theirs = stored(indexed, idempotency_scope="ip:2", idempotency_key="k")
    stored(indexed, idempotency_key="k")  # from before scopes
    stored(indexed, idempotency_scope="ip:1", idempotency_key="k2")

    assert indexed.find_one({"idempotency_scope": "ip:1", "idempotency_key": "k"})["_id"] == mine
    assert [d["_id"] for d in indexed.find({"idempotency_scope": "ip:2", "idempotency_key": "k"}).limit(1)] == [theirs]
    assert indexed.find_one({"idempotency_scope": "ip:3", "idempotency_key": "k"}) is None

    assert whole_reads == []


def test_a_callers_key_is_unique_without_reading_back_every_stored_document(indexed, whole_reads, watch):
    scans = watch("_load_documents")
    first = stored(indexed, idempotency_scope="user:1", idempotency_key="retry")

    with pytest.raises(DuplicateKeyError):
        stored(indexed, idempotency_scope="user:1", idempotency_key="retry")
    other = stored(indexed, idempotency_scope="user:2", idempotency_key="retry")
    stored(indexed, idempotency_key="retry")
    stored(indexed, idempotency_key="retry")  # outside the index: no scope
    indexed.update_one({"_id": first}, {"$set": {"status": "running"}})
    with pytest.raises(DuplicateKeyError):
        indexed.update_one({"_id": other}, {"$set": {"idempotency_scope": "user:1"}})

    assert scans == [] and whole_reads == []
    assert indexed.count_documents({"idempotency_key": "retry"}) == 4  # a key without its scope: every document


def test_one_owners_history_reads_only_that_owners_entries_and_comes_newest_first(indexed, whole_reads):
    start, mine, failed = datetime.now(UTC), [], set()
    for minute in range(12):
        owner, status = (11, 12, None)[minute % 3], ("completed", "failed")[minute % 2]
        stored_id = execution(indexed, owner_id=owner, status=status, created_at=start + timedelta(minutes=minute))
        if owner == 11:
            mine.append(stored_id)
            failed |= {stored_id} if status == "failed" else set()
    newest_first = mine[::-1]

    page = indexed.find({"owner_id": 11}, {"output": 0}).sort("created_at", -1).skip(1).limit(2)
    assert [d["_id"] for d in page] == newest_first[1:3]
    assert indexed.count_documents({"owner_id": 11}) == 4
    hinted = indexed.find({"owner_id": 11, "status": "failed"}).sort("created_at", -1).hint("owner_history")
    assert [d["_id"] for d in hinted] == [i for i in newest_first if i in failed] and len(failed) == 2
    assert indexed.count_documents({"owner_id": 11, "status": "failed"}, hint="owner_history") == 2

    assert whole_reads == []


def test_an_equality_on_an_indexed_field_still_matches_what_it_matched(indexed):
    as_int, as_float = stored(indexed, owner_id=21), stored(indexed, owner_id=21.0)
    as_string, as_none = stored(indexed, owner_id="21"), stored(indexed, owner_id=None)
    at = datetime.now(UTC).replace(microsecond=0)
    dated = execution(indexed, owner_id=21, created_at=at)

    assert {d["_id"] for d in indexed.find({"owner_id": 21})} == {as_int, as_float, dated}
    assert [d["_id"] for d in indexed.find({"owner_id": "21"})] == [as_string]
    assert [d["_id"] for d in indexed.find({"owner_id": 21, "created_at": at})] == [dated]
    assert as_none in {d["_id"] for d in indexed.find({"owner_id": None})}


def test_the_queue_sweeps_read_only_the_entries_of_their_status(indexed, whole_reads):
    now = datetime.now(UTC)
    orphan = execution(indexed, status="queued", created_at=now - timedelta(minutes=5))
    stored(indexed, status="queued")
    expired = execution(indexed, status="running", created_at=now, lease_until=now - timedelta(seconds=1))
    execution(indexed, status="running", created_at=now, lease_until=now + timedelta(minutes=1))

    orphaned = {"status": "queued", "created_at": {"$lt": now - timedelta(minutes=1)}}
    assert [d["_id"] for d in indexed.find(orphaned)] == [orphan]
    assert [d["_id"] for d in indexed.find({"status": "running", "lease_until": {"$lt": now}})] == [expired]

    assert whole_reads == []
