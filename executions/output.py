"""What a running script has written so far: kept whole for the final write, with the part
not yet persisted kept apart for the next lease renewal."""

import threading

from executions.runners.base import Stream


class ExecutionOutput:
    """The dispatcher's :class:`~executions.runners.base.OutputSink` for one execution."""

    def __init__(self, execution_id: str):
        self.execution_id = execution_id
        self._lock = threading.Lock()
        self._chunks: dict[Stream, list[str]] = {Stream.STDOUT: [], Stream.STDERR: []}
        self._persisted: dict[Stream, int] = {Stream.STDOUT: 0, Stream.STDERR: 0}

    def write(self, stream: Stream, text: str) -> None:
        if text:
            with self._lock:
                self._chunks[stream].append(text)

    def text(self, stream: Stream) -> str:
        with self._lock:
            return "".join(self._chunks[stream])

    def has_unpersisted(self) -> bool:
        with self._lock:
            return any(len(chunks) > self._persisted[s] for s, chunks in self._chunks.items())

    def take_unpersisted(self) -> dict[str, str]:
        """The output written since the last call, by stream name."""
        with self._lock:
            taken = {}
            for stream, chunks in self._chunks.items():
                taken[stream.value] = "".join(chunks[self._persisted[stream]:])
                self._persisted[stream] = len(chunks)
            return taken
