"""WebSockets for the test users, with websocket-client: its blocking sockets become
cooperative under Locust's gevent. Timings go to Locust's figures as request type ``WS``."""

import json
import time
from collections.abc import Iterator

import websocket

TIMEOUT_SECONDS = 30.0
WATCH = "/ws/executions/[id]/"


class EndedEarly(Exception):
    pass


def report(user, name: str, started: float, exception: Exception | None = None) -> None:
    """One WebSocket figure of ``user``: from ``started`` (``time.perf_counter()``) to now."""
    user.environment.events.request.fire(
        request_type="WS",
        name=name,
        response_time=(time.perf_counter() - started) * 1000,
        response_length=0,
        response=None,
        context={},
        exception=exception,
    )


def connect(user, path: str, name: str, started: float) -> websocket.WebSocket | None:
    """A connection from a page of the site (a browser's Origin); its handshake is reported."""
    try:
        ws = websocket.create_connection(
            user.host.replace("http", "ws", 1) + path, timeout=TIMEOUT_SECONDS, origin=user.host
        )
    except Exception as exc:
        report(user, f"{name} connect", started, exc)
        return None
    report(user, f"{name} connect", started)
    return ws


def messages(ws: websocket.WebSocket) -> Iterator[dict]:
    """The server's messages until it closes the connection."""
    while raw := ws.recv():
        yield json.loads(raw)


def carries_stdout(message: dict) -> bool:
    if message["type"] == "output":
        return message["stream"] == "stdout" and bool(message["text"])
    return message["type"] in ("snapshot", "finished") and bool(message["execution"]["output"])


def watch(user, execution_id: str) -> None:
    """Follow one execution's live page to its end (a finished one replays and closes at once)."""
    started = time.perf_counter()
    ws = connect(user, f"/ws/executions/{execution_id}/", WATCH, started)
    if ws is None:
        return
    try:
        if not any(message["type"] == "finished" for message in messages(ws)):
            raise EndedEarly("the connection closed before the execution finished")
        report(user, f"{WATCH} connect to finished", started)
    except Exception as exc:
        report(user, f"{WATCH} connect to finished", started, exc)
    finally:
        ws.close()
