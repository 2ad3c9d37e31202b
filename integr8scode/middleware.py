"""Middleware of the project's own, beside the request id's (in :mod:`integr8scode.logs`)."""


def sync_middleware_stack(get_response):
    """Last in ``MIDDLEWARE``, and sync-only: Django then runs the whole stack above it as sync
    code in one worker thread, entered and left once per request, instead of hopping to a
    thread and back for each sync hook of each middleware (about fifteen hops, ~5 ms of a
    request on a small machine). Views stay async; this passes every request straight on."""
    return get_response


sync_middleware_stack.sync_capable = True
sync_middleware_stack.async_capable = False
