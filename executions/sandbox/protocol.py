"""Host side of the sandbox entry's framed output (see ``entry.py`` for the records).

Every runner reads the same byte stream (a pipe for bubblewrap, the pod log for Kubernetes)
and feeds it, in chunks of any size, to a :class:`Decoder`. The stream comes from a sandbox,
so nothing in it is trusted: its grammar is exactly one start record, output records (at most
one compile record among them, for a compiled language), one exit record and the end (with
file records before the exit record where the entry reports the working directory's files:
``F`` chunks, a file's all in a row, and at most one ``T``).
Anything else (a malformed, unknown, over-long, repeated or misplaced record, or a stream
that ends inside a record) is a protocol violation: decoding stops there and the runner
reports a system error, never the run's own result. The output and file caps are enforced
here again; a stream cut short by a kill simply ends without an exit record.
"""

from __future__ import annotations

import binascii
import codecs
import enum
from dataclasses import dataclass


class Stream(enum.StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"


START_LINE = b"S v=1\n"  # the entry's first record: its interpreter is up
MAX_LINE_BYTES = 64 * 1024  # a longer line is garbage: the entry never writes one

NOT_STARTED = "a {kind!r} record before the start record"
STARTED_TWICE = "a second start record"
AFTER_EXIT = "a {kind!r} record after the exit record"
MALFORMED_EXIT = "a malformed exit record"
BAD_CHUNK = "an output record that is not base64"
UNKNOWN_RECORD = "an unknown record {kind!r}"
LINE_TOO_LONG = "a line longer than {limit} bytes"
CUT_RECORD = "the stream ended inside a record"
BAD_FILE_RECORD = "a malformed file record"
FILE_SPLIT = "the file {name!r} came in two parts"
FILES_TOO_LARGE = "file records beyond the {limit} bytes of files a run may return"
TRUNCATED_TWICE = "a second truncation record"
BAD_UNCAUGHT = "a malformed or repeated exception record"
BAD_COMPILE = "a malformed or repeated compile record"
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


@dataclass(frozen=True)
class CompileRecord:
    """How a compiled language's build ended, as the entry saw it (``C``)."""

    exit_code: int | None
    signal: int | None
    reason: str  # one of REASONS

    @property
    def built(self) -> bool:
        return self.exit_code == 0 and self.reason == "none"


@dataclass(frozen=True)
class Uncaught:
    """The exception that ended the script, as its own process described it (display only:
    the script could have written it itself)."""

    type: str
    message: str
    line: int | None


class Decoder:
    """Turns framed bytes into decoded text per stream, the start mark and the exit record."""

    def __init__(self, *, output_bytes: int | None = None, file_bytes: int = 0):
        self.cap = output_bytes
        self.file_cap = file_bytes  # the most file bytes the entry may report in all
        self.files: dict[str, bytearray] = {}  # name -> content, in the order reported
        self.files_truncated = False
        self._file_bytes = 0
        self.started = False
        self.exit: ExitRecord | None = None
        self.uncaught: Uncaught | None = None
        self.compiled: CompileRecord | None = None
        self.violation: str | None = None  # what broke the protocol, first thing only
        self.received = {Stream.STDOUT: 0, Stream.STDERR: 0}  # raw bytes kept, per stream
        self.overflowed = {Stream.STDOUT: False, Stream.STDERR: False}
        self._text = {stream: codecs.getincrementaldecoder("utf-8")("replace") for stream in Stream}
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[tuple[Stream, str]]:
        """Decode what ``data`` completes; return the text it carries, in order. After a
        violation nothing more is decoded."""
        if self.violation is not None:
            return []
        self._pending += data
        out: list[tuple[Stream, str]] = []
        start = 0
        while self.violation is None and (end := self._pending.find(b"\n", start)) >= 0:
            self._line(bytes(self._pending[start:end]), out)
            start = end + 1
        del self._pending[:start]
        if len(self._pending) > MAX_LINE_BYTES:
            self._violate(LINE_TOO_LONG.format(limit=MAX_LINE_BYTES))
        return out

    def finish(self) -> list[tuple[Stream, str]]:
        """The stream ended: a partial last line breaks the protocol; flush split characters."""
        if self._pending:
            self._violate(CUT_RECORD)
        out = [(stream, decoder.decode(b"", final=True)) for stream, decoder in self._text.items()]
        return [(stream, text) for stream, text in out if text]

    def _violate(self, what: str) -> None:
        if self.violation is None:
            self.violation = what
        self._pending.clear()

    def _line(self, line: bytes, out: list[tuple[Stream, str]]) -> None:
        kind, _, body = line.partition(b" ")
        shown = kind[:8].decode("ascii", "replace")
        if self.exit is not None:
            self._violate(AFTER_EXIT.format(kind=shown))
        elif kind == b"S":
            if self.started:
                self._violate(STARTED_TWICE)
            elif line + b"\n" != START_LINE:
                self._violate(UNKNOWN_RECORD.format(kind=line[:16].decode("ascii", "replace")))
            self.started = True
        elif kind not in _STREAMS and kind not in (b"X", b"F", b"T", b"U", b"C"):
            self._violate(UNKNOWN_RECORD.format(kind=shown))
        elif not self.started:
            self._violate(NOT_STARTED.format(kind=shown))
        elif kind == b"X":
            self.exit = parse_exit(body)
            if self.exit is None:
                self._violate(MALFORMED_EXIT)
        elif kind == b"F":
            self._file(body)
        elif kind == b"C":
            self.compiled = None if self.compiled is not None else parse_compile(body)
            if self.compiled is None:
                self._violate(BAD_COMPILE)
        elif kind == b"U":
            self.uncaught = None if self.uncaught is not None else parse_uncaught(body)
            if self.uncaught is None:
                self._violate(BAD_UNCAUGHT)
        elif kind == b"T":
            if self.files_truncated or line != b"T":
                self._violate(TRUNCATED_TWICE if self.files_truncated else BAD_FILE_RECORD)
            self.files_truncated = True
        else:
            self._chunk(_STREAMS[kind], body, out)

    def _file(self, body: bytes) -> None:
        encoded_name, _, encoded = body.partition(b" ")
        try:
            name = binascii.a2b_base64(encoded_name, strict_mode=True).decode()
            data = binascii.a2b_base64(encoded, strict_mode=True)
        except (binascii.Error, UnicodeDecodeError):
            self._violate(BAD_FILE_RECORD)
            return
        if name in self.files and name != next(reversed(self.files)):
            self._violate(FILE_SPLIT.format(name=name[:64]))
            return
        self._file_bytes += len(data)
        if self._file_bytes > self.file_cap:
            self._violate(FILES_TOO_LARGE.format(limit=self.file_cap))
            return
        self.files.setdefault(name, bytearray()).extend(data)

    def _chunk(self, stream: Stream, body: bytes, out: list[tuple[Stream, str]]) -> None:
        try:
            raw = binascii.a2b_base64(body, strict_mode=True)
        except binascii.Error:
            self._violate(BAD_CHUNK)
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


def parse_compile(body: bytes) -> CompileRecord | None:
    """``exit=<n|-> signal=<n|-> reason=<reason>``, or None when it is not that."""
    try:
        pairs = [pair.split("=", 1) for pair in body.decode("ascii").split(" ")]
        fields = dict(pairs)
        if len(fields) != len(pairs) or set(fields) != {"exit", "signal", "reason"} or fields["reason"] not in REASONS:
            return None
        exit_code, signal = _optional_int(fields["exit"]), _optional_int(fields["signal"])
    except (ValueError, UnicodeDecodeError):
        return None
    if (exit_code is not None and not 0 <= exit_code <= 255) or (signal is not None and not 0 < signal < 65):
        return None
    return CompileRecord(exit_code, signal, fields["reason"])


def parse_uncaught(body: bytes) -> Uncaught | None:
    """``<base64 type> <base64 message> <line or ->``, or None when it is not that."""
    parts = body.split(b" ")
    if len(parts) != 3 or not (parts[2] == b"-" or parts[2].isdigit()) or len(parts[2]) > 9:
        return None
    try:
        name, message = (binascii.a2b_base64(part, strict_mode=True).decode() for part in parts[:2])
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not name or len(name) > 200 or len(message) > 1000:
        return None
    return Uncaught(name, message, None if parts[2] == b"-" else int(parts[2]))


def parse_exit(body: bytes) -> ExitRecord | None:
    """The ``X`` record's fields, or None when it is malformed: a missing, repeated or unknown
    field, a number that is not one, a negative figure, or an exit status out of range."""
    try:
        pairs = [pair.split("=", 1) for pair in body.decode("ascii").split(" ")]
        fields = dict(pairs)
        if len(fields) != len(pairs) or set(fields) != EXIT_FIELDS or fields["reason"] not in REASONS:
            return None
        record = ExitRecord(
            exit_code=_optional_int(fields["exit"]),
            signal=_optional_int(fields["signal"]),
            wall_ms=_number(fields["wall_ms"]),
            cpu_ms=_number(fields["cpu_ms"]),
            peak_memory_kb=_number(fields["maxrss_kb"]),
            stdout_truncated=_flag(fields["stdout_truncated"]),
            stderr_truncated=_flag(fields["stderr_truncated"]),
            reason=fields["reason"],
        )
    except (KeyError, ValueError, UnicodeDecodeError):
        return None
    return record if _plausible(record) else None


EXIT_FIELDS = frozenset(
    {"exit", "signal", "wall_ms", "cpu_ms", "maxrss_kb", "stdout_truncated", "stderr_truncated", "reason"}
)


def _plausible(record: ExitRecord) -> bool:
    figures = (record.wall_ms, record.cpu_ms, record.peak_memory_kb)
    return (
        all(figure >= 0 for figure in figures)
        and (record.exit_code is None) != (record.signal is None)  # the child is always reaped
        and (record.exit_code is None or record.exit_code <= 255)
        and (record.signal is None or 0 < record.signal < 65)
    )


def _optional_int(value: str) -> int | None:
    if value == "-":
        return None
    if not value.isdigit():  # no sign, no spaces, no underscores: what the entry writes
        raise ValueError(value)
    return int(value)


def _number(value: str) -> int:
    number = _optional_int(value)
    if number is None:
        raise ValueError(value)
    return number


def _flag(value: str) -> bool:
    if value not in ("0", "1"):
        raise ValueError(value)
    return value == "1"
