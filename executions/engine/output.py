"""What a running script has written so far.

Every chunk gets the next sequence number of its execution and is published at once to
live watchers; the whole text is kept for the final write, and the part not yet persisted
is handed to the next lease renewal, so a watcher that (re)connects reads what is stored
and continues from its sequence number without gaps or duplicates.
"""

import threading
from dataclasses import dataclass

from executions import metrics
from executions.engine import events
from executions.runners.base import Stream


@dataclass(frozen=True)
class Unpersisted:
    stdout: str
    stderr: str
    seq: int  # the last sequence number included


class ExecutionOutput:
    """The dispatcher's :class:`~executions.runners.base.OutputSink` for one execution."""

    def __init__(self, execution_id: str):
        self.execution_id = execution_id
        self._lock = threading.Lock()
        self._chunks: list[tuple[Stream, str]] = []
        self._persisted = 0

    @property
    def seq(self) -> int:
        return len(self._chunks)

    def write(self, stream: Stream, text: str) -> None:
        if not text:
            return
        with self._lock:
            self._chunks.append((stream, text))
            events.output(self.execution_id, seq=len(self._chunks), stream=stream.value, text=text)
        metrics.output_bytes.labels(stream.value).inc(len(text.encode("utf-8", "replace")))

    def text(self, stream: Stream) -> str:
        with self._lock:
            return "".join(text for s, text in self._chunks if s == stream)

    def snapshot(self) -> tuple[str, str, int]:
        """Everything written so far: stdout, stderr and the last sequence number, together."""
        with self._lock:
            chunks = list(self._chunks)
        return (
            "".join(text for s, text in chunks if s == Stream.STDOUT),
            "".join(text for s, text in chunks if s == Stream.STDERR),
            len(chunks),
        )

    def has_unpersisted(self) -> bool:
        return len(self._chunks) > self._persisted

    def take_unpersisted(self) -> Unpersisted:
        """The output written since the last call."""
        with self._lock:
            new = self._chunks[self._persisted :]
            self._persisted = len(self._chunks)
        return Unpersisted(
            stdout="".join(text for s, text in new if s == Stream.STDOUT),
            stderr="".join(text for s, text in new if s == Stream.STDERR),
            seq=self._persisted,
        )
