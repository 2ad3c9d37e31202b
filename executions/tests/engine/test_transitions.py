from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from executions import services
from executions.documents import Execution, QueueEntry, Status
from executions.engine import transitions
from executions.engine.output import Unpersisted
from executions.runners.base import ErrorType, RunResult
from executions.tests.factories import make_execution, make_running

pytestmark = pytest.mark.usefixtures("empty_store")  # counts or claims across the whole store


def test_claims_take_the_oldest_queued_execution_first():
    now = timezone.now()
    newer = make_execution(created_at=now)
    older = make_execution(created_at=now - timedelta(seconds=5))

    first = transitions.execution_claim(worker="w", runner="local")
    second = transitions.execution_claim(worker="w", runner="local")

    assert [first.execution_id, second.execution_id] == [older.execution_id, newer.execution_id]
    assert first.status == Status.RUNNING and first.worker == "w" and first.attempts == 1
    assert first.lease_until > now
    assert transitions.execution_claim(worker="w", runner="local") is None


def test_each_queued_execution_is_claimed_once_across_concurrent_claimers():
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(20):
        make_execution()
    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(lambda i: transitions.execution_claim(worker=f"w{i}", runner="local"), range(40)))

    claimed = [c.execution_id for c in claims if c is not None]
    assert len(claimed) == 20 == len(set(claimed))


def test_finishing_with_exit_zero_completes_and_anything_else_fails():
    ok = make_running(worker="w")
    bad = make_running(worker="w")

    transitions.execution_finish(
        execution_id=ok.execution_id, worker="w", result=RunResult(exit_code=0), stdout="hi\n", stderr=""
    )
    transitions.execution_finish(
        execution_id=bad.execution_id,
        worker="w",
        result=RunResult(exit_code=3, error_type=ErrorType.RUNTIME_ERROR),
        stdout="",
        stderr="boom",
    )

    ok.reload(), bad.reload()
    assert (ok.status, ok.error_type, ok.output, ok.errors) == (Status.COMPLETED, None, "hi\n", None)
    assert (bad.status, bad.error_type, bad.exit_code, bad.errors) == (Status.FAILED, "runtime_error", 3, "boom")
    assert ok.lease_until is None and ok.finished_at is not None


def test_a_worker_cannot_finish_an_execution_it_no_longer_holds():
    execution = make_running(worker="new-owner")

    assert not transitions.execution_finish(
        execution_id=execution.execution_id, worker="old-owner", result=RunResult(exit_code=0), stdout="", stderr=""
    )
    assert Execution.objects.get(execution_id=execution.execution_id).status == Status.RUNNING


def test_renewing_a_lease_extends_it_and_appends_output():
    execution = make_running(worker="w", lease_in=1)

    transitions.execution_renew_lease(
        execution_id=execution.execution_id, worker="w", output=Unpersisted(stdout="a", stderr="", seq=1)
    )
    stop = transitions.execution_renew_lease(
        execution_id=execution.execution_id, worker="w", output=Unpersisted(stdout="b", stderr="e", seq=3)
    )

    execution.reload()
    assert not stop
    assert (execution.output, execution.errors, execution.output_seq) == ("ab", "e", 3)
    assert execution.lease_until > timezone.now() + timedelta(seconds=5)


def test_output_that_looks_like_a_field_name_is_stored_as_written():
    """The output is appended with an update pipeline, where "$HOME" would name a field."""
    execution = make_running(worker="w", lease_in=1)
    for seq, text in enumerate(("$HOME\n", "$$literal"), start=1):
        transitions.execution_renew_lease(
            execution_id=execution.execution_id, worker="w", output=Unpersisted(stdout=text, stderr=text, seq=seq)
        )
    execution.reload()
    assert execution.output == execution.errors == "$HOME\n$$literal"


def test_renewing_tells_the_worker_to_stop_after_a_cancel_request():
    execution = make_running(worker="w")
    services.execution_cancel(execution=execution)

    assert transitions.execution_renew_lease(execution_id=execution.execution_id, worker="w")


@override_settings(EXECUTION_MAX_ATTEMPTS=2)
def test_an_expired_lease_is_requeued_once_then_failed():
    first_try = make_running(lease_in=-1, attempts=1, output="partial")
    second_try = make_running(lease_in=-1, attempts=2)
    healthy = make_running(lease_in=30)

    counts = transitions.executions_recover_expired()

    first_try.reload(), second_try.reload(), healthy.reload()
    assert counts == {"requeued": 1, "failed": 1}
    assert (first_try.status, first_try.output, first_try.worker) == (Status.QUEUED, "", None)
    assert (second_try.status, second_try.error_type) == (Status.FAILED, "system_error")
    assert second_try.error_message == transitions.WORKER_LOST_MESSAGE
    assert healthy.status == Status.RUNNING


def test_a_claim_skips_and_drops_entries_of_cancelled_executions():
    cancelled = make_execution(created_at=timezone.now() - timedelta(seconds=5))
    services.execution_cancel(execution=cancelled)
    waiting = make_execution()

    claimed = transitions.execution_claim(worker="w", runner="local")

    assert claimed.execution_id == waiting.execution_id
    assert QueueEntry.objects.count() == 0


def test_an_orphaned_queued_execution_gets_its_queue_entry_back():
    orphan = make_execution(created_at=timezone.now() - transitions.ORPHAN_AGE - timedelta(seconds=1))
    QueueEntry.objects.delete()

    transitions.executions_recover_expired()

    assert transitions.execution_claim(worker="w", runner="local").execution_id == orphan.execution_id


def test_a_released_execution_is_queued_again_with_its_entry():
    execution = make_execution()
    transitions.execution_claim(worker="w", runner="local")

    assert transitions.execution_release(execution_id=execution.execution_id, worker="w")

    again = transitions.execution_claim(worker="w2", runner="local")
    assert again.execution_id == execution.execution_id and again.attempts == 2
