"""The engine: the worker side of executions. It claims queued executions, drives each through
the configured runner (``executions.runners``), keeps its output and lease, publishes its
events, writes its end, and lets waiters know.

Everything outside the engine reaches it through this module only (an import-linter contract
keeps it so); the engine itself imports nothing of the web layer (services, selectors,
quotas, views, consumers).

- ``dispatcher``: the per-process dispatcher (claims, slots, heartbeat, recovery).
- ``transitions``: every state change an execution goes through, as conditional updates.
- ``waiting``: waiting for an execution's end without a thread, and what just ended.
- ``output``: a run's output as it arrives, and what of it is not stored yet.
- ``events``: live events of a run, to its WebSocket watchers.
- ``wakeups``: telling idle dispatchers in other processes that there is work, or typed input.
"""

from executions.engine.dispatcher import (
    Dispatcher,
    LiveRun,
    live_run,
    offer,
    pending_here,
    request_stop,
    running_here,
    start,
    stop,
)
from executions.engine.events import group_name, publisher
from executions.engine.transitions import CANCELLED_MESSAGE, execution_enqueue, executions_recover_expired
from executions.engine.waiting import cpu_ms_of_finished, execution_wait_result
from executions.engine.wakeups import notify_queued, notify_typed

__all__ = [
    "CANCELLED_MESSAGE",
    "Dispatcher",
    "LiveRun",
    "cpu_ms_of_finished",
    "execution_enqueue",
    "execution_wait_result",
    "executions_recover_expired",
    "group_name",
    "live_run",
    "notify_queued",
    "notify_typed",
    "offer",
    "pending_here",
    "publisher",
    "request_stop",
    "running_here",
    "start",
    "stop",
]
