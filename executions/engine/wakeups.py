"""Wake dispatchers the moment an execution is queued, or input is typed for an interactive run,
in this process and, with Redis, in others."""

import logging
import threading

from django.conf import settings

log = logging.getLogger(__name__)

REDIS_CHANNEL = "integr8scode:executions:queued"
INPUT_CHANNEL = "integr8scode:executions:input"

queued = threading.Event()
typed = threading.Event()  # set when _typed_ids has some
_typed_ids: set[str] = set()
_typed_lock = threading.Lock()


def notify_queued() -> None:
    queued.set()
    if settings.REDIS_URL:
        _publish()


def notify_typed(execution_id: str) -> None:
    """Input was typed for an interactive run: its dispatcher passes it on now, not at its next poll."""
    mark_typed(execution_id)
    if settings.REDIS_URL:
        _publish(INPUT_CHANNEL, execution_id.encode())


def take_typed() -> set[str]:
    """The interactive runs input was typed for since the last call."""
    with _typed_lock:
        ids = set(_typed_ids)
        _typed_ids.clear()
        typed.clear()
    return ids


def mark_typed(execution_id: str) -> None:
    """Wake this process's dispatcher for the run (its input, or a slot it waited for)."""
    with _typed_lock:
        _typed_ids.add(execution_id)
        typed.set()


def _publish(channel: str = REDIS_CHANNEL, message: bytes = b"1") -> None:
    try:
        _redis().publish(channel, message)
    except Exception:  # a missed wake-up only costs the dispatcher's fallback poll
        log.warning("could not publish a wake-up to Redis", exc_info=True)


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
            pubsub.subscribe(REDIS_CHANNEL, INPUT_CHANNEL)
            while not stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message and message["channel"] == INPUT_CHANNEL.encode():
                    mark_typed(message["data"].decode(errors="replace"))
                elif message:
                    queued.set()
        except Exception:
            log.warning("Redis wake-up listener lost its connection; retrying", exc_info=True)
            stop.wait(1.0)
