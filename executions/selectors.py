"""Reads of executions, with the access rule applied."""

import re

from executions.documents import Execution

EXECUTION_ID_RE = re.compile(r"^[0-9a-f]{32}$")
EXECUTION_NOT_FOUND = "No execution with id {execution_id!r} is visible to you."


class ExecutionNotFound(LookupError):
    def __init__(self, execution_id: str):
        super().__init__(EXECUTION_NOT_FOUND.format(execution_id=execution_id[:64]))


def execution_visible_to(*, execution: Execution, user) -> bool:
    """Anonymous executions are readable by whoever holds the id; owned ones by the owner and staff."""
    if execution.owner_id is None:
        return True
    return bool(user and user.is_authenticated and (user.pk == execution.owner_id or user.is_staff))


def execution_get_for(*, execution_id: str, user) -> Execution:
    """The execution, or :class:`ExecutionNotFound` (also when it exists but is not the caller's,
    so ids do not leak)."""
    if not EXECUTION_ID_RE.match(execution_id):
        raise ExecutionNotFound(execution_id)
    execution = Execution.objects(execution_id=execution_id).first()
    if execution is None or not execution_visible_to(execution=execution, user=user):
        raise ExecutionNotFound(execution_id)
    return execution
