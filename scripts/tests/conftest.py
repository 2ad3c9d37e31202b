"""Fixtures of the script tests: the admin's signed-in moderator as the executions' admin tests have it."""

from executions.tests.admin.conftest import moderator_client

__all__ = ["moderator_client"]
