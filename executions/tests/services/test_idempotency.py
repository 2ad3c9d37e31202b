"""Idempotency keys belong to the caller who chose them: its quota subject (a user, or an
anonymous caller's address block), never shared between callers."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from executions import services
from executions.caller import Caller
from executions.documents import LEGACY_IDEMPOTENCY_INDEX, Execution
from executions.tests.store_reads import record_reads

pytestmark = pytest.mark.usefixtures("empty_store")  # counts or claims across the whole store


def submit(script: str, *, client_ip: str | None = None, owner_id: int | None = None):
    caller = Caller(owner_id=owner_id, address=client_ip)
    return services.execution_submit(caller=caller, script=script, idempotency_key="same-key")


def test_two_anonymous_callers_with_the_same_key_get_two_executions():
    mine, _ = submit("print('mine')", client_ip="203.0.113.7")
    theirs, created = submit("print('theirs')", client_ip="198.51.100.9")

    assert created and theirs.execution_id != mine.execution_id
    assert (theirs.script, Execution.objects.count()) == ("print('theirs')", 2)


def test_an_anonymous_retry_from_the_same_address_returns_the_original():
    first, _ = submit("print(1)", client_ip="203.0.113.7")
    again, created = submit("print(2)", client_ip="203.0.113.7")

    assert not created and again.execution_id == first.execution_id


def test_an_ipv6_caller_is_its_64_network_as_quotas_count_it():
    first, _ = submit("print(1)", client_ip="2001:db8:1:2::1")
    same_network, created_in_same = submit("print(2)", client_ip="2001:db8:1:2:ffff::9")
    other_network, created_in_other = submit("print(3)", client_ip="2001:db8:1:3::1")

    assert not created_in_same and same_network.execution_id == first.execution_id
    assert created_in_other and other_network.execution_id != first.execution_id


@pytest.mark.django_db
def test_a_user_and_an_anonymous_caller_at_the_same_address_do_not_share_keys(owner):
    anonymous, _ = submit("print('anonymous')", client_ip="203.0.113.7")
    signed_in, created = submit("print('signed in')", owner_id=owner.pk, client_ip="203.0.113.7")

    assert created and signed_in.execution_id != anonymous.execution_id


def test_a_retry_looks_its_key_up_in_the_idempotency_index_only(monkeypatch):
    first, _ = submit("print(1)", client_ip="203.0.113.7")
    reads = record_reads(monkeypatch)

    again, created = submit("print(1)", client_ip="203.0.113.7")

    assert not created and again.execution_id == first.execution_id
    lookups = [read for read in reads if "idempotency_key" in read.filter]
    assert lookups and {read.index() for read in lookups} == {"idempotency_scoped"}


def test_simultaneous_retries_make_one_execution():
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda n: submit(f"print({n})", client_ip="203.0.113.7"), range(6)))

    assert len({execution.execution_id for execution, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1 and Execution.objects.count() == 1


def test_a_retry_after_its_execution_was_deleted_makes_a_new_one():
    first, _ = submit("print(1)", client_ip="203.0.113.7")
    services.execution_delete(execution=first)

    again, created = submit("print(1)", client_ip="203.0.113.7")

    assert created and again.execution_id != first.execution_id


def test_the_callers_address_is_not_stored_in_the_clear():
    execution, _ = submit("pass", client_ip="203.0.113.7")

    stored = Execution._get_collection().find_one({"_id": execution.execution_id})
    assert "203.0.113" not in str(stored)


@pytest.fixture
def legacy_store():
    """The collection as the previous release left it: keys unique per owner, no scopes."""
    collection = Execution._get_collection()
    collection.drop_indexes()
    collection.create_index(
        [("owner_id", 1), ("idempotency_key", 1)],
        name=LEGACY_IDEMPOTENCY_INDEX,
        unique=True,
        partialFilterExpression={"idempotency_key": {"$type": "string"}},
    )
    template = Execution(script="print('old')", runtime="python3.13", limits={"wall_seconds": 1}).to_mongo()
    del template["idempotency_scope"]
    for execution_id, owner_id in (("a" * 32, 7), ("b" * 32, None)):
        collection.insert_one({**template, "_id": execution_id, "owner_id": owner_id, "idempotency_key": "old-key"})
    yield collection
    collection.drop_indexes()
    Execution.ensure_indexes()


def test_an_old_store_loses_the_shared_anonymous_key_space_and_keeps_owned_keys(legacy_store):
    Execution.ensure_indexes()

    assert LEGACY_IDEMPOTENCY_INDEX not in legacy_store.index_information()
    retried, created = services.execution_submit(
        caller=Caller(owner_id=7, address=None), script="print('new')", idempotency_key="old-key"
    )
    assert not created and retried.execution_id == "a" * 32
    strangers = [
        services.execution_submit(script="pass", idempotency_key="old-key", caller=Caller(owner_id=None, address=ip))[0]
        for ip in ("203.0.113.7", "198.51.100.9")
    ]
    assert len({e.execution_id for e in strangers} | {"b" * 32}) == 3
