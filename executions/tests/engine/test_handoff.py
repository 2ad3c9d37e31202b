"""Submissions in a process whose dispatcher has a free slot, or room in its backlog, skip the
queue collection."""

import asyncio
import threading

import pytest

from conftest import wait_until
from executions import engine, services
from executions.caller import Caller
from executions.documents import Execution, QueueEntry, Status
from executions.engine import waiting
from executions.engine.transitions import SHUTDOWN_MESSAGE
from executions.runners.base import BaseRunner, ErrorType, RunResult, Sandbox
from executions.tests.engine.test_dispatcher import finished
from executions.tests.factories import make_execution

pytestmark = pytest.mark.usefixtures("empty_store")  # counts or claims across the whole store

SLEEPER = "import time\nprint('started', flush=True)\ntime.sleep(60)"


def _started(execution_id: str) -> bool:
    return "started" in (Execution.objects.get(execution_id=execution_id).output or "")


def test_a_submission_with_a_free_slot_runs_without_a_queue_entry(dispatcher):
    execution, _ = services.execution_submit(caller=Caller.internal(), script="print('handed over')")

    assert QueueEntry.objects.count() == 0
    done = finished(execution.execution_id)
    assert (done.status, done.output, done.attempts) == (Status.COMPLETED, "handed over\n", 1)


@pytest.fixture
def busy():
    """A dispatcher of one slot, busy with a sleeper (cancel it to free the slot)."""
    running = engine.start(concurrency=1)
    try:
        busy, _ = services.execution_submit(caller=Caller.internal(), script=SLEEPER)
        wait_until(lambda: _started(busy.execution_id), timeout=20, message="the first run to start")
        yield busy
        assert running is engine.start()
    finally:
        engine.stop(grace=5)


def _cancel(execution_id: str) -> Execution:
    return services.execution_cancel(execution=Execution.objects.get(execution_id=execution_id))


def test_with_every_slot_busy_submissions_wait_in_the_backlog_then_in_the_queue_and_run_in_order(busy):
    backlogged, _ = services.execution_submit(caller=Caller.internal(), script="print('second')")
    queued, _ = services.execution_submit(caller=Caller.internal(), script="print('third')")

    # The backlog holds as many as there are slots; the rest goes to the queue collection.
    assert [entry.execution_id for entry in QueueEntry.objects] == [queued.execution_id]
    assert Execution.objects.get(execution_id=backlogged.execution_id).status == Status.QUEUED
    _cancel(busy.execution_id)
    second, third = finished(backlogged.execution_id), finished(queued.execution_id)
    assert (second.output, third.output) == ("second\n", "third\n")
    assert second.started_at <= third.started_at


def test_a_backlogged_execution_cancelled_while_it_waits_never_runs_nor_keeps_a_slot(busy):
    backlogged, _ = services.execution_submit(caller=Caller.internal(), script="print('never')")

    cancelled = _cancel(backlogged.execution_id)
    _cancel(busy.execution_id)

    assert (cancelled.status, cancelled.error_type) == (Status.FAILED, "cancelled")
    after, _ = services.execution_submit(caller=Caller.internal(), script="print('after')")
    assert finished(after.execution_id).output == "after\n"
    never = Execution.objects.get(execution_id=backlogged.execution_id)
    assert (never.started_at, never.output, never.attempts) == (None, "", 0)


class HeldRunner(BaseRunner):
    """A runner whose runs go on until they are stopped: it keeps a dispatcher's slots busy."""

    name = "held"

    def runtimes(self) -> dict[str, str]:
        return {"python3.13": "held"}

    def start(self, spec, sink):
        return HeldSandbox()


class HeldSandbox(Sandbox):
    def __init__(self):
        self.stopped = threading.Event()

    def wait(self) -> RunResult:
        self.stopped.wait(30)
        return RunResult(error_type=ErrorType.CANCELLED)

    def stop(self, error_type=ErrorType.CANCELLED) -> None:
        self.stopped.set()


def test_a_stopping_dispatcher_gives_its_backlog_to_the_queue_and_takes_no_more_offers():
    stopping = engine.Dispatcher(concurrency=1, runner=HeldRunner())
    stopping.start()
    busy, waiting_one, late = make_execution(), make_execution(), make_execution()
    QueueEntry.objects.delete()  # as if submitted in this process, to be offered
    assert stopping.offer(busy.execution_id) is True
    wait_until(lambda: stopping.busy() == 1, timeout=10, message="the first run to take the one slot")
    assert stopping.offer(waiting_one.execution_id) is True  # to the backlog

    stopping.shutdown(grace=0)

    assert [entry.execution_id for entry in QueueEntry.objects] == [waiting_one.execution_id]
    assert Execution.objects.get(execution_id=waiting_one.execution_id).status == Status.QUEUED
    assert stopping.offer(late.execution_id) is False  # its submitter queues it instead


def test_a_waiter_gets_the_stored_final_state_without_reading_it_back(dispatcher, monkeypatch):
    # The half second is the script's: the waiter must be waiting before the run ends.
    execution, _ = services.execution_submit(
        caller=Caller.internal(), script="import time; time.sleep(0.5); print('waited for')"
    )
    reloads = []
    monkeypatch.setattr(Execution, "reload", lambda self, *fields: reloads.append(self.execution_id))

    result = asyncio.run(waiting.execution_wait_result(execution))

    assert (result.status, result.output, result.exit_code) == (Status.COMPLETED, "waited for\n", 0)
    assert result.finished_at is not None and reloads == []
    assert result.to_mongo() == Execution.objects.get(execution_id=execution.execution_id).to_mongo()


def test_a_waiter_that_comes_after_the_run_finished_gets_its_final_state_without_reading_it_back(
    dispatcher, monkeypatch
):
    execution, _ = services.execution_submit(caller=Caller.internal(), script="print('finished first')")
    stored = finished(execution.execution_id)
    reloads = []
    monkeypatch.setattr(Execution, "reload", lambda self, *fields: reloads.append(self.execution_id))

    result = asyncio.run(waiting.execution_wait_result(execution))

    assert reloads == [] and result.to_mongo() == stored.to_mongo()


def test_a_large_final_state_is_not_kept_but_read_back(dispatcher):
    execution, _ = services.execution_submit(
        caller=Caller.internal(), script=f"print('x' * {waiting.RECENT_FINAL_MAX_CHARS})"
    )
    stored = finished(execution.execution_id)

    result = asyncio.run(waiting.execution_wait_result(execution))

    assert execution.execution_id not in waiting._recent_finals
    assert result is execution and result.to_mongo() == stored.to_mongo()  # reloaded in place


class SlowStartRunner(HeldRunner):
    """Its sandboxes take until ``go`` is set to start, and end as they were stopped."""

    def __init__(self):
        super().__init__()
        self.starting, self.go = threading.Event(), threading.Event()

    def start(self, spec, sink):
        self.starting.set()
        self.go.wait(30)
        return StoppedAsSandbox()


class StoppedAsSandbox(HeldSandbox):
    stopped_as = None

    def wait(self) -> RunResult:
        self.stopped.wait(30)
        return RunResult(error_type=self.stopped_as)

    def stop(self, error_type=ErrorType.CANCELLED) -> None:
        self.stopped_as = error_type
        self.stopped.set()


def test_a_run_still_starting_at_shutdown_fails_as_a_system_error_not_as_cancelled(caplog):
    runner = SlowStartRunner()
    stopping = engine.Dispatcher(concurrency=1, runner=runner)
    stopping.start()
    execution = make_execution()
    QueueEntry.objects.delete()  # as if submitted in this process, to be offered
    assert stopping.offer(execution.execution_id) is True
    assert runner.starting.wait(10)

    shutdown = threading.Thread(target=stopping.shutdown, kwargs={"grace": 0})
    shutdown.start()
    # Its sandbox starts only once the shutdown has stopped what outlived the grace period.
    wait_until(lambda: "outlived the grace period" in caplog.text, timeout=10, message="the shutdown's stop")
    runner.go.set()
    shutdown.join(30)

    done = Execution.objects.get(execution_id=execution.execution_id)
    assert (done.status, done.error_type, done.error_message) == (Status.FAILED, "system_error", SHUTDOWN_MESSAGE)
