"""The in-process dispatcher driving real sandboxes."""

import pytest

from conftest import wait_until
from executions import services
from executions.caller import Caller
from executions.documents import Execution, Status


def finished(execution_id: str, timeout: float = 30) -> Execution:
    def final():
        execution = Execution.objects(execution_id=execution_id).first()
        return execution if execution and execution.is_final else None

    return wait_until(final, timeout=timeout, message=f"execution {execution_id} to finish")


def run(script: str, timeout: float = 30, **fields) -> Execution:
    execution, _ = services.execution_submit(caller=Caller.internal(), script=script, **fields)
    return finished(execution.execution_id, timeout)


@pytest.fixture(autouse=True)
def _dispatcher(dispatcher):
    return dispatcher


def test_a_hello_script_completes_with_its_output_and_usage():
    execution = run("print('Hello, Integr8sCode!')")

    assert execution.status == Status.COMPLETED
    assert execution.output == "Hello, Integr8sCode!\n"
    assert execution.errors is None and execution.error_type is None and execution.exit_code == 0
    assert execution.duration_ms >= 0 and execution.cpu_ms >= 0 and execution.peak_memory_kb > 0
    assert execution.started_at <= execution.finished_at
    assert execution.runner == "local" and execution.lease_until is None


def test_a_traceback_fails_the_execution_as_a_runtime_error():
    execution = run("print('before')\nraise ValueError('boom')")

    assert execution.status == Status.FAILED
    assert (execution.error_type, execution.exit_code) == ("runtime_error", 1)
    assert execution.output == "before\n"
    assert "ValueError: boom" in execution.errors


def test_stdin_reaches_the_script():
    execution = run("import sys; print(sys.stdin.read()[::-1])", stdin="abc")

    assert execution.output == "cba\n"


def test_a_nonzero_exit_code_is_kept():
    execution = run("import sys; sys.exit(7)")

    assert (execution.status, execution.error_type, execution.exit_code) == (Status.FAILED, "runtime_error", 7)


def test_an_infinite_loop_fails_as_a_timeout_at_its_wall_limit():
    execution = run("while True: pass", limits={"wall_seconds": 1})

    assert (execution.status, execution.error_type) == (Status.FAILED, "timeout")
    assert execution.duration_ms < 5000


def test_cancelling_a_running_execution_stops_it():
    execution, _ = services.execution_submit(
        caller=Caller.internal(), script="import time\nprint('started', flush=True)\ntime.sleep(60)"
    )
    wait_until(
        lambda: "started" in (Execution.objects.get(execution_id=execution.execution_id).output or ""),
        timeout=20,
        message="the script to start",
    )

    services.execution_cancel(execution=Execution.objects.get(execution_id=execution.execution_id))
    done = finished(execution.execution_id, timeout=10)

    assert (done.status, done.error_type) == (Status.FAILED, "cancelled")
    assert done.output == "started\n"


def test_output_is_persisted_while_the_script_runs():
    execution, _ = services.execution_submit(
        caller=Caller.internal(), script="import time\nprint('first', flush=True)\ntime.sleep(3)\nprint('second')"
    )

    seen = wait_until(
        lambda: Execution.objects.get(execution_id=execution.execution_id).output,
        timeout=10,
        message="output before the end",
    )

    assert seen == "first\n"
    assert finished(execution.execution_id).output == "first\nsecond\n"


def test_executions_run_concurrently_up_to_the_concurrency():
    script = "import time\ntime.sleep(1)\nprint('done')"
    ids = [services.execution_submit(caller=Caller.internal(), script=script)[0].execution_id for _ in range(4)]

    results = [finished(i) for i in ids]

    assert all(r.status == Status.COMPLETED for r in results)
    overlapping = sum(
        1
        for a in results
        for b in results
        if a is not b and a.started_at < b.finished_at and b.started_at < a.finished_at
    )
    assert overlapping > 0
