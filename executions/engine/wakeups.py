"""Wake dispatchers the moment an execution is queued, in this process and, with Redis, in others."""

import logging
import threading

from django.conf import settings

log = logging.getLogger(__name__)

REDIS_CHANNEL = "integr8scode:executions:queued"

queued = threading.Event()


def notify_queued() -> None:
    queued.set()
    if settings.REDIS_URL:
        _publish()


def _publish() -> None:
    try:
        _redis().publish(REDIS_CHANNEL, b"1")
    except Exception:  # a missed wake-up only costs the dispatcher's fallback poll
        log.warning("could not publish the queued wake-up to Redis", exc_info=True)


_client = None


def _redis():
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


def listen_forever(stop: threading.Event) -> None:
    """Relay Redis wake-ups to :data:`queued` until ``stop`` is set (run in a daemon thread)."""
    while not stop.is_set():
        try:
            pubsub = _redis().pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(REDIS_CHANNEL)
            while not stop.is_set():
                if pubsub.get_message(timeout=1.0):
                    queued.set()
        except Exception:
            log.warning("Redis wake-up listener lost its connection; retrying", exc_info=True)
            stop.wait(1.0)
