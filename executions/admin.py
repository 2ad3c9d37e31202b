"""Executions in the Django admin (their views and actions: admin_executions.py)."""

from django.contrib import admin

from executions.admin_executions import ExecutionAdmin
from executions.models import ExecutionRecord

admin.site.register(ExecutionRecord, ExecutionAdmin)
