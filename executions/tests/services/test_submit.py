import pytest
from django.test import override_settings

from executions import engine, services
from executions.caller import Caller
from executions.documents import Execution, Status
from executions.limits import LIMIT_ABOVE_CAP, LIMIT_UNKNOWN, limit_caps
from executions.selectors import EXECUTION_ID_RE

pytestmark = pytest.mark.usefixtures("empty_store")  # counts or claims across the whole store


def test_submit_queues_the_script_with_the_caps_as_limits():
    execution, created = services.execution_submit(caller=Caller.internal(), script="print(1)")

    assert created
    stored = Execution.objects.get(execution_id=execution.execution_id)
    assert stored.status == Status.QUEUED
    assert stored.limits["memory_mb"] == limit_caps().memory_mb
    assert stored.created_at and stored.updated_at


def test_execution_ids_carry_128_random_bits():
    ids = {services.execution_submit(caller=Caller.internal(), script="pass")[0].execution_id for _ in range(20)}

    assert len(ids) == 20
    assert all(EXECUTION_ID_RE.match(i) for i in ids)


def test_submit_wakes_the_dispatchers(monkeypatch):
    woken = []
    monkeypatch.setattr(engine, "notify_queued", lambda: woken.append(True))

    services.execution_submit(caller=Caller.internal(), script="pass")

    assert woken == [True]


def test_requested_limits_may_lower_the_caps():
    execution, _ = services.execution_submit(
        caller=Caller.internal(), script="pass", limits={"wall_seconds": 1.5, "memory_mb": 64}
    )

    assert execution.limits["wall_seconds"] == 1.5
    assert execution.limits["memory_mb"] == 64
    assert execution.limits["cpu_seconds"] == limit_caps().cpu_seconds


def test_requested_limits_above_the_caps_are_rejected():
    cap = limit_caps().memory_mb
    with pytest.raises(services.SubmissionRejected) as rejected:
        services.execution_submit(caller=Caller.internal(), script="pass", limits={"memory_mb": cap + 1})

    assert rejected.value.status == 422
    assert rejected.value.message == LIMIT_ABOVE_CAP.format(name="memory_mb", value=cap + 1, cap=cap)
    assert Execution.objects.count() == 0


def test_unknown_limits_are_rejected():
    with pytest.raises(services.SubmissionRejected) as rejected:
        services.execution_submit(caller=Caller.internal(), script="pass", limits={"gpus": 1})

    assert rejected.value.message.startswith(LIMIT_UNKNOWN.split("{")[0] + "gpus")


@pytest.mark.parametrize("script", ["", "   \n\t"])
def test_empty_scripts_are_rejected(script):
    with pytest.raises(services.SubmissionRejected) as rejected:
        services.execution_submit(caller=Caller.internal(), script=script)

    assert (rejected.value.status, rejected.value.message) == (422, services.SCRIPT_EMPTY)


@override_settings(SCRIPT_MAX_BYTES=100)
def test_a_script_over_the_size_cap_is_too_large_counting_bytes_not_characters():
    with pytest.raises(services.SubmissionRejected) as rejected:
        services.execution_submit(caller=Caller.internal(), script="é" * 51)  # 102 bytes in UTF-8

    assert rejected.value.status == 413
    assert rejected.value.message == services.SCRIPT_TOO_LARGE.format(size=102, limit=100)


@override_settings(STDIN_MAX_BYTES=10)
def test_stdin_over_its_cap_is_too_large():
    with pytest.raises(services.SubmissionRejected) as rejected:
        services.execution_submit(caller=Caller.internal(), script="pass", stdin="x" * 11)

    assert rejected.value.status == 413


def test_an_unknown_runtime_is_rejected_naming_the_available_ones():
    with pytest.raises(services.SubmissionRejected) as rejected:
        services.execution_submit(caller=Caller.internal(), script="pass", runtime="cobol")

    assert "cobol" in rejected.value.message and "python3" in rejected.value.message


def test_a_repeated_idempotency_key_returns_the_original_execution():
    first, created = services.execution_submit(caller=Caller.internal(), script="print(1)", idempotency_key="k-1")
    again, created_again = services.execution_submit(caller=Caller.internal(), script="print(2)", idempotency_key="k-1")

    assert created and not created_again
    assert again.execution_id == first.execution_id
    assert Execution.objects.count() == 1


def test_idempotency_keys_are_scoped_to_their_owner():
    mine, _ = services.execution_submit(script="pass", idempotency_key="same", caller=Caller(owner_id=1, address=None))
    theirs, created = services.execution_submit(
        script="pass", idempotency_key="same", caller=Caller(owner_id=2, address=None)
    )

    assert created and theirs.execution_id != mine.execution_id
