"""Live output of one execution over a WebSocket: ``/ws/executions/<execution_id>/``.

On connect the watcher gets a snapshot of what is stored (status, output so far and the
sequence number it reaches), then every later event of the execution: output chunks with
their stream and sequence number, status changes, and the final result. Events at or below
the sequence already sent are skipped; a gap (events published before this watcher joined,
or dropped for a slow watcher by the channel layer's capacity) is filled by a fresh
snapshot, so a watcher never misses or repeats output. Output published before the watcher
joined is in its snapshot when a dispatcher of this process runs the execution; otherwise it
arrives with the next snapshot, once the dispatcher has stored it (its ``persisted`` event).
The client may send ``{"type": "cancel"}``.
"""

import asyncio
import time

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from executions import events, metrics, selectors, services
from executions.documents import Execution
from executions.schemas import ExecutionOut
from integr8scode.threads import in_thread

NOT_FOUND_CLOSE_CODE = 4404
RESYNC_TIMEOUT_SECONDS = 3.0
RESYNC_INTERVAL_SECONDS = 0.05


def execution_payload(execution: Execution) -> dict:
    return ExecutionOut.from_orm(execution).model_dump(mode="json")


class ExecutionConsumer(AsyncJsonWebsocketConsumer):
    execution_id: str
    sent_seq = 0
    done = False

    async def connect(self) -> None:
        self.execution_id = self.scope["url_route"]["kwargs"]["execution_id"]
        try:
            read = await in_thread(selectors.execution_get_for)(execution_id=self.execution_id,
                                                                user=self.scope.get("user"))
        except selectors.ExecutionNotFound:
            await self.close(code=NOT_FOUND_CLOSE_CODE)
            return
        events.publisher.attach(asyncio.get_running_loop())
        await self.channel_layer.group_add(events.group_name(self.execution_id), self.channel_name)
        await self.accept()
        self.counted = True
        metrics.websocket_connections.inc()
        # Now that this watcher has joined, the read above is still good if it was final.
        await self._send_snapshot(await self._load(read))

    async def disconnect(self, code) -> None:
        if getattr(self, "counted", False):
            metrics.websocket_connections.dec()
            self.counted = False
        if getattr(self, "execution_id", None):
            await self.channel_layer.group_discard(events.group_name(self.execution_id), self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "cancel":
            execution = await self._load()
            try:
                await in_thread(services.execution_cancel)(execution=execution)
            except services.AlreadyFinished:
                pass

    # --- events from the channel layer -------------------------------------------------

    async def execution_output(self, event: dict) -> None:
        if self.done or event["seq"] <= self.sent_seq:
            return
        if event["seq"] > self.sent_seq + 1 and not await self._resync(until=event["seq"] - 1):
            return
        if event["seq"] == self.sent_seq + 1:
            await self.send_json({"type": "output", "seq": event["seq"], "stream": event["stream"],
                                  "text": event["text"]})
            self.sent_seq = event["seq"]

    async def execution_persisted(self, event: dict) -> None:
        # Output this watcher has not seen is stored now (it was published before it joined).
        if not self.done and event["seq"] > self.sent_seq:
            await self._resync(until=event["seq"])

    async def execution_status(self, event: dict) -> None:
        if not self.done:
            await self.send_json({"type": "status", "status": event["status"]})

    async def execution_finished(self, event: dict) -> None:
        if not self.done:
            await self._finish(await self._load())

    # --- helpers -----------------------------------------------------------------------

    async def _load(self, read: Execution | None = None) -> Execution:
        return await in_thread(selectors.execution_live)(execution_id=self.execution_id, read=read)

    async def _send_snapshot(self, execution: Execution) -> None:
        self.sent_seq = execution.output_seq
        await self.send_json({"type": "snapshot", "seq": execution.output_seq, "execution": execution_payload(execution)})
        if execution.is_final:
            await self._finish(execution)

    async def _finish(self, execution: Execution) -> None:
        self.done = True
        await self.send_json({"type": "finished", "seq": execution.output_seq, "execution": execution_payload(execution)})
        await self.close()

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
