"""`manage.py executor` as its own process: claims, graceful SIGTERM, and recovery after a crash."""

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from django.test import override_settings
from django.utils import timezone

from conftest import wait_until
from executions import services
from executions.caller import Caller
from executions.documents import Execution, Status
from executions.engine import transitions

BASE_DIR = Path(__file__).resolve().parents[3]


def start_executor(*args: str, lease: str = "30") -> subprocess.Popen:
    env = {**os.environ, "EXECUTION_LEASE_SECONDS": lease}
    log = tempfile.NamedTemporaryFile(prefix="executor-", suffix=".log", delete=False)  # noqa: SIM115 (the process writes it)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "executor", *args], cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    wait_until(
        lambda: "running" in Path(log.name).read_text() or process.poll() is not None,
        timeout=30,
        message="the executor to start",
    )
    assert process.poll() is None, Path(log.name).read_text()
    return process


def get(execution_id: str) -> Execution:
    return Execution.objects.get(execution_id=execution_id)


def test_an_executor_process_runs_queued_executions():
    executor = start_executor("--concurrency", "1")
    try:
        execution, _ = services.execution_submit(caller=Caller.internal(), script="print(6 * 7)")
        done = wait_until(lambda: get(execution.execution_id).is_final and get(execution.execution_id), timeout=30)
    finally:
        executor.terminate()
        executor.wait(timeout=30)

    assert (done.status, done.output) == (Status.COMPLETED, "42\n")
    assert done.worker.endswith(f":{executor.pid}")


def test_sigterm_lets_running_executions_finish_within_the_grace_period():
    executor = start_executor("--grace", "20")
    execution, _ = services.execution_submit(
        caller=Caller.internal(), script="import time\nprint('a', flush=True)\ntime.sleep(1.5)\nprint('b')"
    )
    wait_until(lambda: get(execution.execution_id).status == Status.RUNNING, timeout=20)

    executor.send_signal(signal.SIGTERM)

    assert executor.wait(timeout=30) == 0
    done = get(execution.execution_id)
    assert (done.status, done.output) == (Status.COMPLETED, "a\nb\n")


def test_sigterm_fails_what_outlives_the_grace_period_as_a_system_error():
    executor = start_executor("--grace", "0.5")
    execution, _ = services.execution_submit(caller=Caller.internal(), script="import time\ntime.sleep(8)")
    wait_until(lambda: get(execution.execution_id).status == Status.RUNNING, timeout=20)

    executor.send_signal(signal.SIGTERM)

    assert executor.wait(timeout=30) == 0
    done = get(execution.execution_id)
    assert (done.status, done.error_type, done.error_message) == (
        Status.FAILED,
        "system_error",
        transitions.SHUTDOWN_MESSAGE,
    )


@override_settings(EXECUTION_MAX_ATTEMPTS=2)
def test_a_crashed_executors_execution_is_requeued_then_run_by_another(dispatcher):
    dispatcher.shutdown(grace=0)  # keep this process out of the race until the crash is over
    crashed = start_executor(lease="2")
    execution, _ = services.execution_submit(
        caller=Caller.internal(), script="import time\nprint('go', flush=True)\ntime.sleep(5)\nprint('done')"
    )
    wait_until(lambda: get(execution.execution_id).status == Status.RUNNING, timeout=20)

    crashed.kill()
    crashed.wait()
    wait_until(lambda: get(execution.execution_id).lease_until < timezone.now(), timeout=10, interval=0.2)
    counts = transitions.executions_recover_expired()
    rescuer = start_executor()
    try:
        done = wait_until(lambda: get(execution.execution_id).is_final and get(execution.execution_id), timeout=30)
    finally:
        rescuer.terminate()
        rescuer.wait(timeout=30)

    assert counts["requeued"] == 1
    assert (done.status, done.output, done.attempts) == (Status.COMPLETED, "go\ndone\n", 2), (
        done.error_type,
        done.error_message,
        done.errors,
    )
