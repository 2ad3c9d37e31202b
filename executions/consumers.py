"""Live output of one execution over a WebSocket: ``/ws/executions/<execution_id>/``.

On connect the watcher gets a snapshot of what is stored (status, output so far and the
sequence number it reaches), then every later event of the execution: output chunks with
their stream and sequence number, status changes, and the final result. Events at or below
the sequence already sent are skipped; a gap (events published before this watcher joined,
or dropped for a slow watcher by the channel layer's capacity) is filled by a fresh
snapshot, so a watcher never misses or repeats output. Output published before the watcher
joined is in its snapshot when a dispatcher of this process runs the execution; otherwise it
arrives with the next snapshot, once the dispatcher has stored it (its ``persisted`` event).
The client may send ``{"type": "cancel"}``, and for an interactive run ``{"type": "stdin",
"text": ..., "eof": ...}`` (as ``POST /api/v1/executions/<id>/stdin``; one that is refused is
answered ``{"type": "error", "status", "detail"}`` and the connection stays open). Status
messages of a running interactive run say whether it waits for input (``waiting_for_input``).

``/ws/executions/`` is the same with a submission first: the client's first message is
``{"type": "submit", ...}`` with the fields of ``POST /api/v1/executions`` (and, optionally,
its ``Idempotency-Key`` as ``idempotency_key``: a retry then follows the original), and the
connection then follows the new execution as above, one round trip sooner than a POST and
a second connection. A refused submission gets ``{"type": "error", "status": ..., "detail":
...}``, the status and detail the HTTP API would answer (with ``retry_after`` for a quota),
and the connection closes with code 4000 + status; so does a message that is not a JSON
object, on either route (status 400).
"""

import asyncio
import time

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from pydantic import ValidationError

from executions import engine, metrics, selectors, services
from executions.caller import Caller
from executions.documents import Execution
from executions.errors import AppError
from executions.schemas import ExecutionIn, ExecutionOut, StdinIn
from integr8scode import strict_json
from integr8scode.threads import in_thread

NOT_FOUND_CLOSE_CODE = 4404
RESYNC_TIMEOUT_SECONDS = 3.0
RESYNC_INTERVAL_SECONDS = 0.05
MALFORMED_MESSAGE = "Messages must be JSON objects."
SUBMIT_FIRST = 'The first message must be {"type": "submit", "script": ...}.'


def execution_payload(execution: Execution) -> dict:
    return ExecutionOut.from_orm(execution).model_dump(mode="json")


class ExecutionConsumer(AsyncJsonWebsocketConsumer):
    execution_id: str
    sent_seq = 0
    done = False

    async def connect(self) -> None:
        self.execution_id = self.scope["url_route"]["kwargs"]["execution_id"]
        try:
            read = await in_thread(selectors.execution_get_for)(
                execution_id=self.execution_id, user=self.scope.get("user")
            )
        except selectors.ExecutionNotFound:
            await self.close(code=NOT_FOUND_CLOSE_CODE)
            return
        await self.accept()
        self._count()
        await self._join(read)

    async def _join(self, read: Execution | None = None) -> None:
        engine.publisher.attach(asyncio.get_running_loop())
        await self.channel_layer.group_add(engine.group_name(self.execution_id), self.channel_name)
        # Now that this watcher has joined, the read above is still good if it was final.
        await self._send_snapshot(await self._load(read))

    def _count(self) -> None:
        self.counted = True
        metrics.websocket_connections.inc()

    async def disconnect(self, code) -> None:
        if getattr(self, "counted", False):
            metrics.websocket_connections.dec()
            self.counted = False
        if getattr(self, "execution_id", None):
            await self.channel_layer.group_discard(engine.group_name(self.execution_id), self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        try:
            content = strict_json.loads(text_data or bytes_data or "")
        except ValueError:  # UnicodeDecodeError is one too
            content = None
        if not isinstance(content, dict):
            await self._refuse(400, MALFORMED_MESSAGE)
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs) -> None:
        if content.get("type") == "cancel" and not self.done:
            execution = await self._load()
            try:
                await in_thread(services.execution_cancel)(execution=execution)
            except services.AlreadyFinished:
                pass
        elif content.get("type") == "stdin":
            await self._feed({key: value for key, value in content.items() if key != "type"})

    async def _feed(self, fields: dict) -> None:
        try:
            typed = StdinIn.model_validate(fields)
            execution = await self._load()
            await in_thread(services.execution_feed)(execution=execution, text=typed.text, eof=typed.eof)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            await self.send_json({"type": "error", "status": 422, "detail": errors})
        except AppError as exc:
            await self.send_json({"type": "error", "status": exc.status, "detail": exc.message})

    # --- events from the channel layer -------------------------------------------------

    async def execution_output(self, event: dict) -> None:
        if self.done or event["seq"] <= self.sent_seq:
            return
        if event["seq"] > self.sent_seq + 1 and not await self._resync(until=event["seq"] - 1):
            return
        if event["seq"] == self.sent_seq + 1:
            await self.send_json(
                {"type": "output", "seq": event["seq"], "stream": event["stream"], "text": event["text"]}
            )
            self.sent_seq = event["seq"]

    async def execution_persisted(self, event: dict) -> None:
        # Output this watcher has not seen is stored now (it was published before it joined).
        if not self.done and event["seq"] > self.sent_seq:
            await self._resync(until=event["seq"])

    async def execution_status(self, event: dict) -> None:
        if self.done:
            return
        await self.send_json({key: value for key, value in event.items() if key != "type"} | {"type": "status"})
        if event.get("requeued"):  # its run failed for reasons of ours and starts again: so does its output
            await self._send_snapshot(await self._load())

    async def execution_finished(self, event: dict) -> None:
        if not self.done:
            await self._finish(await self._load())

    # --- helpers -----------------------------------------------------------------------

    async def _load(self, read: Execution | None = None) -> Execution:
        return await in_thread(selectors.execution_live)(execution_id=self.execution_id, read=read)

    async def _send_snapshot(self, execution: Execution) -> None:
        self.sent_seq = execution.output_seq
        await self.send_json(
            {"type": "snapshot", "seq": execution.output_seq, "execution": execution_payload(execution)}
        )
        if execution.is_final:
            await self._finish(execution)

    async def _finish(self, execution: Execution) -> None:
        self.done = True
        await self.send_json(
            {"type": "finished", "seq": execution.output_seq, "execution": execution_payload(execution)}
        )
        await self.close()

    async def _refuse(self, status: int, detail, **facts) -> None:
        self.done = True
        await self.send_json({"type": "error", "status": status, "detail": detail, **facts})
        await self.close(code=4000 + status)

    async def _resync(self, *, until: int) -> bool:
        """Send a snapshot that reaches at least ``until`` once the dispatcher has stored it."""
        deadline = time.monotonic() + RESYNC_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            execution = await self._load()
            if execution.output_seq >= until or execution.is_final:
                await self._send_snapshot(execution)
                return not self.done
            await asyncio.sleep(RESYNC_INTERVAL_SECONDS)
        return False


class SubmitConsumer(ExecutionConsumer):
    """``/ws/executions/``: the first message submits a script, then the connection follows it."""

    execution_id = None

    async def connect(self) -> None:
        await self.accept()
        self._count()

    async def receive_json(self, content, **kwargs) -> None:
        if self.execution_id is not None:
            await super().receive_json(content, **kwargs)
        elif content.get("type") != "submit":
            await self._refuse(422, SUBMIT_FIRST)
        elif not self.done:
            await self._submit({key: value for key, value in content.items() if key != "type"})

    async def _submit(self, fields: dict) -> None:
        idempotency_key = fields.pop("idempotency_key", None)  # the Idempotency-Key header's part
        try:
            payload = ExecutionIn.model_validate(fields)
            execution, _ = await in_thread(services.execution_submit)(
                **payload.submission(),
                caller=Caller.of_scope(self.scope),
                idempotency_key=idempotency_key,
            )
        except ValidationError as exc:
            await self._refuse(422, exc.errors(include_url=False, include_context=False, include_input=False))
        except AppError as exc:
            await self._refuse(exc.status, exc.message, **exc.extra)
        else:
            self.execution_id = execution.execution_id
            await self._join()
