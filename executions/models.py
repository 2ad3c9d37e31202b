"""Django ORM models of the executions app.

Executions themselves live in MongoDB (``documents.py``); :class:`ExecutionRecord` only gives
them a place in the Django admin and permissions that a moderators' group can hold.
"""

from django.db import models


class ExecutionRecord(models.Model):
    """No table: a handle for the admin's MongoDB-backed executions view and its permissions."""

    class Meta:
        managed = False
        verbose_name = "execution"
        verbose_name_plural = "executions"
        default_permissions = ("view", "delete")
        permissions = [("cancel_executionrecord", "Can cancel executions")]
