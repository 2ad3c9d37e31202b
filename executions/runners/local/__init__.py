"""The local runner: sandboxes on this machine, at one of two isolation levels (see runner.py)."""

from executions.runners.local.runner import LocalRunner

__all__ = ["LocalRunner"]
