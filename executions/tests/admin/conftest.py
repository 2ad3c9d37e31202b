"""Fixtures of the admin tests."""

import pytest
from django.test import Client


@pytest.fixture
def moderator_client(moderator) -> Client:
    """A client signed in as the moderator (staff in the moderators' group)."""
    client = Client()
    client.force_login(moderator)
    return client
