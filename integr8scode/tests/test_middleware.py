"""The middleware stack runs as one block of sync code: one thread hop in and out per request,
not one per hook of every middleware."""

import asyncio

from asgiref.sync import SyncToAsync
from django.test import AsyncClient

# The request signal, the stack, two process_view hooks, a sync view, closing the response.
# With the stack's hooks adapted one by one it was 21.
MOST_HOPS = 8


def test_a_request_hops_between_threads_only_a_few_times(monkeypatch):
    hops = []
    original = SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted)

    response = asyncio.run(AsyncClient().get("/healthz"))

    assert response.status_code == 200
    assert len(hops) <= MOST_HOPS, hops


def test_a_refusal_a_page_does_not_handle_itself_is_an_error_page_with_its_status_message_and_headers(rf):
    from executions.errors import NotFound
    from executions.quotas import QuotaExceeded
    from integr8scode.middleware import AppErrorPages

    pages = AppErrorPages(lambda request: None)
    refused = QuotaExceeded("Too many submissions.", resource="submissions", limit=3, retry_after=20)

    page = pages.process_exception(rf.get("/scripts/x/"), refused)
    missing = pages.process_exception(rf.get("/scripts/x/"), NotFound("No such script"))

    assert (page.status_code, page["Retry-After"]) == (429, "20")
    assert "Too many submissions." in page.content.decode()
    assert missing.status_code == 404 and "Nothing here" in missing.content.decode()
    assert pages.process_exception(rf.get("/api/v1/scripts/x"), refused) is None  # the API's own
    assert pages.process_exception(rf.get("/scripts/x/"), ValueError("ours to crash on")) is None
