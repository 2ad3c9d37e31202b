"""Blocking work from async code."""

from asgiref.sync import sync_to_async


def in_thread(function):
    """``function`` as a coroutine function run in a worker thread. MongoDB and file I/O do not
    need Django's single thread for thread-sensitive code, so requests do not queue behind it."""
    return sync_to_async(function, thread_sensitive=False)
