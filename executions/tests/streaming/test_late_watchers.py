"""A watcher that joins after some output was published, but before it was stored, still
gets it: from the run's memory when it runs in this process, else once it is stored."""

import asyncio

from executions import engine, selectors
from executions.consumers import ExecutionConsumer
from executions.documents import Execution
from executions.engine import LiveRun
from executions.tests.factories import make_execution, make_running


def test_a_snapshot_carries_output_a_run_of_this_process_has_not_stored_yet(monkeypatch):
    running = make_running(output="", output_seq=0)
    live = LiveRun(running, stdout="early\n", stderr="warning\n", seq=2)
    monkeypatch.setattr(engine, "live_run", lambda execution_id: live if execution_id == running.execution_id else None)

    snapshot = selectors.execution_live(execution_id=running.execution_id)

    assert (snapshot.status, snapshot.output, snapshot.errors, snapshot.output_seq) == (
        "running",
        "early\n",
        "warning\n",
        2,
    )
    assert snapshot is not running and running.output == ""  # the dispatcher's copy is left alone
    stored = Execution.objects.get(execution_id=running.execution_id)
    assert (stored.output, stored.output_seq) == ("", 0)


def test_without_a_run_here_a_final_read_is_used_as_is_and_any_other_is_read_again():
    done = make_execution(status="completed", output="all\n", output_seq=1)
    running = make_running(output="so far\n", output_seq=1)
    stale = Execution.objects.get(execution_id=running.execution_id)
    Execution.objects(execution_id=running.execution_id).update(set__output="so far\nmore\n", set__output_seq=2)

    assert selectors.execution_live(execution_id=done.execution_id, read=done) is done
    assert selectors.execution_live(execution_id=running.execution_id, read=stale).output == "so far\nmore\n"


class Watcher(ExecutionConsumer):
    """The consumer without a socket: what it would send is collected."""

    def __init__(self, execution_id: str, sent_seq: int):
        self.execution_id, self.sent_seq, self.sent = execution_id, sent_seq, []

    async def send_json(self, content, close=False):
        self.sent.append(content)


def test_a_watcher_that_missed_published_output_gets_it_once_it_is_stored():
    running = make_running(output="", output_seq=0)
    watcher = Watcher(running.execution_id, sent_seq=0)  # joined after seq 1 was published
    Execution.objects(execution_id=running.execution_id).update(set__output="early\n", set__output_seq=1)

    asyncio.run(watcher.execution_persisted({"type": "execution.persisted", "seq": 1}))
    asyncio.run(watcher.execution_persisted({"type": "execution.persisted", "seq": 1}))  # nothing new

    assert [(m["type"], m["seq"], m["execution"]["output"]) for m in watcher.sent] == [("snapshot", 1, "early\n")]
    assert watcher.sent_seq == 1
