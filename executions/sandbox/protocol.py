"""Host side of the sandbox entry's framed output (see ``entry.py`` for the records).

Every runner reads the same byte stream (a pipe for bubblewrap, the pod log for Kubernetes)
and feeds it, in chunks of any size, to a :class:`Decoder`. The stream comes from a hostile
sandbox, so nothing in it is trusted: bad lines are counted and skipped, the output caps are
enforced here again, and a stream cut short by a kill simply ends without an exit record.
"""

from __future__ import annotations

import binascii
import codecs
from dataclasses import dataclass

from executions.runners.base import Stream

START_LINE = b"S v=1\n"  # the entry's first record: its interpreter is up
MAX_LINE_BYTES = 64 * 1024  # a longer line is garbage: the entry never writes one
REASONS = frozenset({"none", "timeout", "cpu", "memory", "output_limit"})
_STREAMS = {b"O": Stream.STDOUT, b"E": Stream.STDERR}


@dataclass(frozen=True)
class ExitRecord:
    exit_code: int | None
    signal: int | None
    wall_ms: int
    cpu_ms: int
    peak_memory_kb: int
    stdout_truncated: bool
    stderr_truncated: bool
    reason: str  # one of REASONS


class Decoder:
    """Turns framed bytes into decoded text per stream, the start mark and the exit record."""

    def __init__(self, *, output_bytes: int | None = None):
        self.cap = output_bytes
        self.started = False
        self.exit: ExitRecord | None = None
        self.garbage_lines = 0
        self.received = {Stream.STDOUT: 0, Stream.STDERR: 0}  # raw bytes kept, per stream
        self.overflowed = {Stream.STDOUT: False, Stream.STDERR: False}
        self._text = {stream: codecs.getincrementaldecoder("utf-8")("replace") for stream in Stream}
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[tuple[Stream, str]]:
        """Decode what ``data`` completes; return the text it carries, in order."""
        self._pending += data
        out: list[tuple[Stream, str]] = []
        start = 0
        while (end := self._pending.find(b"\n", start)) >= 0:
            self._line(bytes(self._pending[start:end]), out)
            start = end + 1
        del self._pending[:start]
        if len(self._pending) > MAX_LINE_BYTES:
            self.garbage_lines += 1
            self._pending.clear()
        return out

    def finish(self) -> list[tuple[Stream, str]]:
        """The stream ended: drop a partial last line, flush split characters."""
        if self._pending:
            self.garbage_lines += 1
            self._pending.clear()
        out = [(stream, decoder.decode(b"", final=True)) for stream, decoder in self._text.items()]
        return [(stream, text) for stream, text in out if text]

    def _line(self, line: bytes, out: list[tuple[Stream, str]]) -> None:
        kind, _, body = line.partition(b" ")
        if kind in _STREAMS:
            self._chunk(_STREAMS[kind], body, out)
        elif kind == b"S":
            self.started = True
        elif kind == b"X" and self.exit is None:
            self.exit = parse_exit(body)
            self.garbage_lines += self.exit is None
        else:
            self.garbage_lines += 1

    def _chunk(self, stream: Stream, body: bytes, out: list[tuple[Stream, str]]) -> None:
        try:
            raw = binascii.a2b_base64(body, strict_mode=True)
        except binascii.Error:
            self.garbage_lines += 1
            return
        raw = self._within_cap(stream, raw)
        if text := self._text[stream].decode(raw):
            out.append((stream, text))

    def _within_cap(self, stream: Stream, raw: bytes) -> bytes:
        if self.cap is None:
            self.received[stream] += len(raw)
            return raw
        room = self.cap - self.received[stream]
        if len(raw) > room:
            raw = raw[: max(room, 0)]
            self.overflowed[stream] = True
        self.received[stream] += len(raw)
        return raw


def parse_exit(body: bytes) -> ExitRecord | None:
    """The ``X`` record's fields, or None when it is malformed."""
    try:
        fields = dict(pair.split("=", 1) for pair in body.decode("ascii").split())
        reason = fields["reason"]
        if reason not in REASONS:
            return None
        return ExitRecord(
            exit_code=_optional_int(fields["exit"]),
            signal=_optional_int(fields["signal"]),
            wall_ms=int(fields["wall_ms"]),
            cpu_ms=int(fields["cpu_ms"]),
            peak_memory_kb=int(fields["maxrss_kb"]),
            stdout_truncated=fields["stdout_truncated"] == "1",
            stderr_truncated=fields["stderr_truncated"] == "1",
            reason=reason,
        )
    except (KeyError, ValueError, UnicodeDecodeError):
        return None


def _optional_int(value: str) -> int | None:
    return None if value == "-" else int(value)
