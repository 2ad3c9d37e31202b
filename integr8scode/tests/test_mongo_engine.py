"""The embedded engine stays exact for our documents while its work stops scaling with the
collection. The engine runs in this process here (the server runs it in a child process), so
the tests can watch what it does."""

import asyncio
import threading
import uuid

import pymongo
import pytest
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

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
    assert collection.find_one({"_id": queued, "status": "queued"}, {"status": 1}) == {"_id": queued, "status": "queued"}
    assert list(collection.find({"_id": queued, "status": {"$in": ["queued", "running"]}}, {"_id": 1})) == [
        {"_id": queued}]
    assert collection.update_one({"_id": queued, "status": "running"}, {"$set": {"worker": "w"}}).matched_count == 0
    claimed = collection.find_one_and_update({"_id": queued, "status": "queued"}, {"$set": {"status": "running"}},
                                             return_document=ReturnDocument.AFTER)
    assert claimed["status"] == "running"
    assert collection.find_one_and_update({"_id": queued, "status": "queued"}, {"$set": {"status": "failed"}}) is None

    assert compiled == []
    assert collection.find_one({"_id": other})["status"] == "queued"


def test_filters_on_a_list_of_ids_are_answered_by_key_and_still_exact(collection, watch):
    compiled = watch("_compile_read_execution_plan")
    done, queued = execution(collection, status="completed", cpu_ms=7), execution(collection)
    missing = uuid.uuid4().hex

    found = collection.find({"_id": {"$in": [done, queued, missing, done]}}, {"status": 1, "cpu_ms": 1})
    assert sorted(found, key=lambda d: d["status"]) == [{"_id": done, "status": "completed", "cpu_ms": 7},
                                                        {"_id": queued, "status": "queued"}]
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
