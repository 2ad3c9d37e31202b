"""The editor's users: a visitor opens the page, then presses Run now and then, which submits
and follows over one WebSocket (``/ws/executions/``), anonymously, from the site's origin.

Figures (request type ``WS``): the handshake, submit to first output and submit to finished,
each from before connecting, as the person pressing Run waits.
"""

import json
import time
import uuid

from locust import FastHttpUser, between, task

from bench.loadtest import scripts
from bench.loadtest.recorder import QUOTA_SUFFIX
from bench.loadtest.shared import executed
from bench.loadtest.wsclient import EndedEarly, carries_stdout, connect, messages, report

SUBMIT = "/ws/executions/"


class EditorUser(FastHttpUser):
    weight = 5
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client.get("/", name="/")

    @task
    def press_run(self) -> None:
        kind, script = scripts.pick()
        started = time.perf_counter()
        if ws := connect(self, SUBMIT, SUBMIT, started):
            try:
                ws.send(json.dumps({"type": "submit", **script.submission(), "idempotency_key": uuid.uuid4().hex}))
                self.follow(ws, kind, started)
            except Exception as exc:
                report(self, f"{SUBMIT} submit to finished", started, exc)
            finally:
                ws.close()

    def follow(self, ws, kind: str, started: float) -> None:
        execution_id, first_output = None, False
        for message in messages(ws):
            if message["type"] == "error":
                self.refused(message, started)
                return
            if execution_id is None and "execution" in message:
                execution_id = message["execution"]["execution_id"]
                executed(execution_id, kind, "websocket", None)
            if not first_output and carries_stdout(message):
                first_output = True
                report(self, f"{SUBMIT} submit to first output", started)
            if message["type"] == "finished":
                report(self, f"{SUBMIT} submit to finished", started)
                return
        raise EndedEarly("the connection closed before the execution finished")

    def refused(self, message: dict, started: float) -> None:
        if message["status"] == 429:
            report(self, SUBMIT + QUOTA_SUFFIX, started)
        else:
            report(self, f"{SUBMIT} submit to finished", started, EndedEarly(f"refused: {message}"))
