import pytest

from executions import services
from executions.documents import Status
from executions.runners.base import ErrorType
from executions.tests.factories import make_execution, make_running


def test_cancelling_a_queued_execution_fails_it_at_once():
    execution = services.execution_cancel(execution=make_execution())

    assert execution.status == Status.FAILED
    assert execution.error_type == ErrorType.CANCELLED
    assert execution.finished_at is not None


def test_cancelling_a_running_execution_asks_its_worker_to_stop():
    execution = services.execution_cancel(execution=make_running())

    assert execution.status == Status.RUNNING
    assert execution.cancel_requested


def test_cancelling_a_finished_execution_is_refused():
    execution = make_execution(status=Status.COMPLETED, exit_code=0)

    with pytest.raises(services.AlreadyFinished):
        services.execution_cancel(execution=execution)
