"""Interactive runs through the in-process dispatcher and real sandboxes: input typed through
the service reaches the script, a run waiting for input gives its slot back, an idle session is
ended with a reason, and what cannot be fed is refused clearly."""

import time

import pytest

from conftest import wait_until
from executions import errors, selectors, services
from executions.caller import Caller
from executions.documents import Execution, Status
from executions.engine.dispatcher import IDLE_ENDED
from executions.runners.local import cgroups
from executions.tests.engine.test_dispatcher import finished

ASK = 'name = input("Your name? ")\nprint(f"Hello, {name}!")\n'


@pytest.fixture(autouse=True)
def _dispatcher(dispatcher):
    return dispatcher


def submit(script: str = ASK, **fields) -> Execution:
    execution, _ = services.execution_submit(caller=Caller.internal(), script=script, interactive=True, **fields)
    return execution


def waiting(execution_id: str) -> Execution:
    def check():
        execution = Execution.objects(execution_id=execution_id).first()
        return execution if execution.waiting_for_input else None

    return wait_until(check, timeout=20, message=f"{execution_id} to wait for input")


def test_typed_input_reaches_the_prompt_and_the_record_keeps_it():
    execution = submit()
    waiting(execution.execution_id)
    assert Execution.objects(execution_id=execution.execution_id).first().output == "Your name? "

    services.execution_feed(execution=execution, text="Ada\n")

    done = finished(execution.execution_id)
    assert done.status == Status.COMPLETED, done.errors
    assert done.output == "Your name? Hello, Ada!\n"
    assert done.typed == "Ada\n" and not done.waiting_for_input
    assert done.limits["wall_seconds"] == 300.0  # the interactive wall cap, not the 10 s one


def test_input_typed_while_queued_is_given_once_it_starts():
    execution = submit("import sys\nprint(sys.stdin.read().upper())\n", stdin="a")
    services.execution_feed(execution=execution, text="b")
    services.execution_feed(execution=execution, eof=True)
    done = finished(execution.execution_id)
    assert done.output == "AB\n"


def test_a_run_waiting_for_input_holds_no_slot(dispatcher, settings):
    """Both slots of the dispatcher are free for other runs while two sessions wait for input."""
    first, second = submit(), submit()
    waiting(first.execution_id)
    waiting(second.execution_id)
    wait_until(lambda: dispatcher.slots_held() == 0, timeout=5, message="the slots to be given back")

    other, _ = services.execution_submit(caller=Caller.internal(), script="print(sum(range(10**6)))")
    assert finished(other.execution_id, timeout=20).output == "499999500000\n"

    for execution in (first, second):
        services.execution_feed(execution=execution, text="x\n")
        assert finished(execution.execution_id).status == Status.COMPLETED


def test_an_idle_session_is_ended_with_a_reason(settings):
    settings.INTERACTIVE_IDLE_SECONDS = 1.0
    execution = submit()
    done = finished(execution.execution_id)
    assert (done.status, done.error_type) == (Status.FAILED, "timeout")
    assert "No input came for 1 s" in done.error_message


def test_input_to_a_finished_run_is_a_conflict():
    execution = submit("print('no questions')")
    finished(execution.execution_id)
    with pytest.raises(services.AlreadyFinished) as refused:
        services.execution_feed(execution=execution, text="late\n")
    assert refused.value.status == 409 and "has already finished" in refused.value.message


def test_input_after_end_of_file_is_a_conflict():
    execution = submit()
    services.execution_feed(execution=execution, eof=True)
    with pytest.raises(errors.Conflict, match="has ended"):
        services.execution_feed(execution=execution, text="more\n")
    assert finished(execution.execution_id).exception_type == "EOFError"


def test_a_batch_run_cannot_be_fed():
    execution, _ = services.execution_submit(caller=Caller.internal(), script="print(1)")
    with pytest.raises(errors.Conflict, match="not interactive"):
        services.execution_feed(execution=execution, text="x")


def test_input_counts_against_the_stdin_cap(settings):
    settings.STDIN_MAX_BYTES = 10
    execution = submit(stdin="123456")
    services.execution_feed(execution=execution, text="7890")  # exactly at the cap
    with pytest.raises(services.SubmissionRejected) as refused:
        services.execution_feed(execution=execution, text="é")
    assert refused.value.status == 413 and "12 bytes" in refused.value.message
    services.execution_feed(execution=execution, eof=True)  # ending it takes no room
    assert Execution.objects(execution_id=execution.execution_id).first().typed == "7890"


def test_a_watcher_joining_while_it_waits_is_told_so_with_what_was_typed():
    """The snapshot of a run this process holds says it waits, and has the input typed since
    it was claimed (the claimed copy has neither)."""
    execution = submit('input("a? ")\ninput("b? ")\n')
    waiting(execution.execution_id)
    services.execution_feed(execution=execution, text="1\n")
    wait_until(
        lambda: selectors.execution_live(execution_id=execution.execution_id).output == "a? b? ",
        timeout=20,
        message="the second prompt",
    )
    live = wait_until(
        lambda: (found := selectors.execution_live(execution_id=execution.execution_id)).waiting_for_input and found,
        timeout=20,
        message="the snapshot to say it waits",
    )
    assert live.typed == "1\n" and not live.input_closed
    services.execution_feed(execution=execution, eof=True)
    finished(execution.execution_id)


COMPUTES_AT = """
import time
while time.time() < {at}:  # idle until then: its slot goes back, and the next run is claimed
    time.sleep(0.01)
start = time.process_time()
while time.process_time() - start < 1.0:
    pass
print("done")
"""


def test_runs_that_compute_without_input_never_exceed_the_slots(dispatcher):
    """Four sessions go idle (their slots go back), then all compute at the same moment: two at
    a time hold the two slots, the others are frozen (by the host's freezer) until a slot is theirs."""
    finished(submit("print('warm')").execution_id)  # the runner's first sandboxes take a while
    at = time.time() + 6  # all four open and idle by then, even on a loaded machine
    executions = [submit(COMPUTES_AT.format(at=at)) for _ in range(4)]
    ids = {execution.execution_id for execution in executions}
    paused_for_real = False
    deadline = time.monotonic() + 60
    while Execution.objects(execution_id__in=list(ids), status__in=[Status.QUEUED, Status.RUNNING]).count():
        assert time.monotonic() < deadline, "the sessions did not finish"
        runs = [run for run in dispatcher._snapshot() if run.execution.execution_id in ids]
        assert sum(run.holds_slot for run in runs) <= dispatcher.concurrency
        for run in runs:
            cgroup = run.sandbox.cgroup if run.paused and run.sandbox is not None else None
            if cgroup is not None and cgroup.frozen() and cgroups.read_pids(cgroup.memory_dir):
                paused_for_real = True
        time.sleep(0.02)  # sampling the dispatcher's state while the runs go on
    assert paused_for_real, "no run computing without a slot was stopped"
    for execution_id in ids:
        done = finished(execution_id)
        assert (done.status, done.output) == (Status.COMPLETED, "done\n"), done.error_message


def test_a_session_that_only_wakes_now_and_then_is_still_idle(settings):
    settings.INTERACTIVE_IDLE_SECONDS = 1.5
    execution = submit("import time\nwhile True:\n    time.sleep(0.2)\n    sum(range(1000))\n")
    done = finished(execution.execution_id)
    assert (done.error_type, done.error_message) == ("timeout", IDLE_ENDED.format(seconds=1.5))


def test_after_end_of_file_a_run_neither_waits_for_input_nor_ends_as_idle(settings):
    settings.INTERACTIVE_IDLE_SECONDS = 1.0
    execution = submit("import sys, time\nsys.stdin.read()\ntime.sleep(2)\nprint('slept')\n")
    services.execution_feed(execution=execution, eof=True)
    done = finished(execution.execution_id)
    assert (done.status, done.output) == (Status.COMPLETED, "slept\n")


def test_a_program_computing_after_its_last_input_is_not_idle(settings):
    settings.INTERACTIVE_IDLE_SECONDS = 1.0
    execution = submit(
        "import time\ninput()\nstart = time.process_time()\n"
        "while time.process_time() - start < 2: pass\nprint('computed')\n"
    )
    waiting(execution.execution_id)
    services.execution_feed(execution=execution, text="go\n")
    done = finished(execution.execution_id)
    assert (done.status, done.output) == (Status.COMPLETED, "computed\n")


def test_typed_text_that_looks_like_a_field_name_is_kept_as_typed():
    """The store appends with an update pipeline, where "$name" would name a field."""
    execution = submit("import sys\nprint(repr(sys.stdin.read()))\n")
    services.execution_feed(execution=execution, text="$typed")
    services.execution_feed(execution=execution, text="$$x\n", eof=True)
    done = finished(execution.execution_id)
    assert done.typed == "$typed$$x\n" and done.output == "'$typed$$x\\n'\n"
