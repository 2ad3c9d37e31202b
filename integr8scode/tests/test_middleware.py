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
