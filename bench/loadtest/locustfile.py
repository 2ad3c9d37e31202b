"""The load test's users, for Locust (``python -m bench.loadtest`` runs it; by hand:
``locust -f bench/loadtest/locustfile.py`` from the checkout, with ``LOADTEST_LEDGER``,
``LOADTEST_REPORT``, ``LOADTEST_ACCOUNTS`` and ``LOADTEST_PASSWORD`` set)."""

from locust import events

from bench.loadtest.editor import EditorUser
from bench.loadtest.shared import recorder
from bench.loadtest.users import AnonymousApiUser, Reader, SignedInReader, TokenApiUser

__all__ = ["AnonymousApiUser", "EditorUser", "Reader", "SignedInReader", "TokenApiUser"]

events.request.add_listener(recorder.on_request)


@events.quitting.add_listener
def _write_report(environment, **_) -> None:
    recorder.write(environment.stats)
