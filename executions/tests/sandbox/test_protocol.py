import binascii

import pytest

from executions.runners.base import Stream
from executions.runners.files import PATH_MAX_BYTES
from executions.sandbox import protocol
from executions.sandbox.entry import FILE_CHUNK_BYTES
from executions.sandbox.protocol import MAX_LINE_BYTES, START_LINE, Decoder, ExitRecord, parse_exit

EXIT_LINE = b"X exit=0 signal=- wall_ms=12 cpu_ms=7 maxrss_kb=9000 stdout_truncated=0 stderr_truncated=1 reason=none\n"


def frame(kind: bytes, data: bytes) -> bytes:
    return kind + b" " + binascii.b2a_base64(data)


def started(**options) -> Decoder:
    decoder = Decoder(**options)
    decoder.feed(START_LINE)
    return decoder


def decode_all(decoder: Decoder, data: bytes, *, step: int) -> list[tuple[Stream, str]]:
    out = []
    for start in range(0, len(data), step):
        out += decoder.feed(data[start : start + step])
    return out + decoder.finish()


def joined(chunks, stream: Stream) -> str:
    return "".join(text for s, text in chunks if s == stream)


def test_records_decode_to_text_start_mark_and_exit_record():
    decoder = Decoder()
    chunks = decoder.feed(b"S v=1\n" + frame(b"O", b"hello\n") + frame(b"E", b"oops\n") + EXIT_LINE)
    assert chunks == [(Stream.STDOUT, "hello\n"), (Stream.STDERR, "oops\n")]
    assert decoder.started
    assert decoder.exit == ExitRecord(
        exit_code=0,
        signal=None,
        wall_ms=12,
        cpu_ms=7,
        peak_memory_kb=9000,
        stdout_truncated=False,
        stderr_truncated=True,
        reason="none",
    )


def test_any_chunking_of_the_byte_stream_gives_the_same_text():
    text = "naïve café 日本語 🎉\n" * 50
    data = text.encode()
    stream = b"".join(frame(b"O", data[i : i + 7]) for i in range(0, len(data), 7))
    for step in (1, 3, 64, 4096):
        assert joined(decode_all(started(), stream, step=step), Stream.STDOUT) == text


def test_a_character_split_across_records_survives():
    euro = "€".encode()
    chunks = decode_all(started(), frame(b"O", euro[:1]) + frame(b"O", euro[1:]) + frame(b"O", b"\n"), step=5)
    assert joined(chunks, Stream.STDOUT) == "€\n"


def test_streams_decode_independently_when_interleaved():
    euro = "€".encode()
    data = frame(b"O", euro[:2]) + frame(b"E", "é".encode()) + frame(b"O", euro[2:])
    chunks = decode_all(started(), data, step=2)
    assert joined(chunks, Stream.STDOUT) == "€"
    assert joined(chunks, Stream.STDERR) == "é"


def test_invalid_utf8_is_replaced():
    chunks = decode_all(started(), frame(b"O", b"\xff\xfeok\n"), step=100)
    assert joined(chunks, Stream.STDOUT) == "\ufffd\ufffdok\n"


def test_a_dangling_partial_character_is_replaced_at_the_end():
    chunks = decode_all(started(), frame(b"O", "€".encode()[:2]), step=100)
    assert joined(chunks, Stream.STDOUT) == "\ufffd"


@pytest.mark.parametrize(
    ("data", "violation"),
    [
        (b"hello there\n", protocol.UNKNOWN_RECORD.format(kind="hello")),
        (b"O !!!not-base64!!!\n", protocol.BAD_CHUNK),
        (b"X reason=bogus\n", protocol.MALFORMED_EXIT),
        (b"\n", protocol.UNKNOWN_RECORD.format(kind="")),
        (START_LINE, protocol.STARTED_TWICE),
        (EXIT_LINE + EXIT_LINE, protocol.AFTER_EXIT.format(kind="X")),
        (EXIT_LINE + frame(b"O", b"late"), protocol.AFTER_EXIT.format(kind="O")),
    ],
)
def test_a_record_out_of_the_grammar_is_a_violation_and_ends_decoding(data, violation):
    decoder = started()
    chunks = decode_all(decoder, frame(b"O", b"kept") + data + frame(b"O", b"never"), step=3)
    assert joined(chunks, Stream.STDOUT) == "kept"
    assert decoder.violation == violation


def test_output_before_the_start_record_is_a_violation():
    decoder = Decoder()
    assert decoder.feed(frame(b"O", b"forged") + START_LINE) == []
    assert decoder.violation == protocol.NOT_STARTED.format(kind="O")


def test_a_stream_cut_inside_a_record_keeps_what_came_whole_and_says_so():
    decoder = started()
    chunks = decode_all(decoder, frame(b"O", b"one\n") + frame(b"O", b"two\n")[:-3], step=4)
    assert joined(chunks, Stream.STDOUT) == "one\n"
    assert decoder.exit is None
    assert decoder.violation == protocol.CUT_RECORD


def test_a_stream_cut_between_records_is_no_violation():
    decoder = started()
    decode_all(decoder, frame(b"O", b"one\n"), step=4)
    assert decoder.violation is None and decoder.exit is None


def test_an_endless_line_does_not_grow_the_buffer_without_bound():
    decoder = started()
    decoder.feed(b"O " + b"A" * (MAX_LINE_BYTES + 10))
    assert len(decoder._pending) == 0
    assert decoder.violation == protocol.LINE_TOO_LONG.format(limit=MAX_LINE_BYTES)


def test_the_host_side_cap_truncates_each_stream_to_exactly_the_cap():
    decoder = started(output_bytes=10)
    data = frame(b"O", b"0123456") + frame(b"O", b"789abc") + frame(b"E", b"short")
    chunks = decode_all(decoder, data, step=50)
    assert joined(chunks, Stream.STDOUT) == "0123456789"
    assert joined(chunks, Stream.STDERR) == "short"
    assert decoder.overflowed == {Stream.STDOUT: True, Stream.STDERR: False}


def test_a_second_exit_record_is_a_violation_whatever_it_says():
    decoder = started()
    decoder.feed(EXIT_LINE + EXIT_LINE.replace(b"exit=0", b"exit=3"))
    assert decoder.exit.exit_code == 0
    assert decoder.violation == protocol.AFTER_EXIT.format(kind="X")


def test_exit_record_with_a_signal_and_a_reason():
    record = parse_exit(EXIT_LINE[2:-1].replace(b"exit=0 signal=-", b"exit=- signal=9").replace(b"=none", b"=timeout"))
    assert record.exit_code is None
    assert record.signal == 9
    assert record.reason == "timeout"


def test_malformed_exit_records_are_rejected():
    assert parse_exit(b"exit=0") is None
    assert parse_exit(EXIT_LINE[2:-1].replace(b"exit=0", b"exit=zero")) is None
    assert parse_exit("exit=0 reason=nöne".encode()) is None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"cpu_ms=7", b"cpu_ms=-100000"),  # a negative figure (it would credit a CPU quota)
        (b"wall_ms=12", b"wall_ms=+12"),
        (b"maxrss_kb=9000", b"maxrss_kb=9_000"),
        (b"exit=0", b"exit=256"),
        (b"exit=0 signal=-", b"exit=0 signal=9"),  # both an exit code and a signal
        (b"exit=0 signal=-", b"exit=- signal=-"),  # neither
        (b"signal=-", b"signal=99"),
        (b"reason=none", b"reason=none reason=timeout"),  # a field twice
        (b" reason=none", b""),  # a field missing
        (b"reason=none", b"reason=none extra=1"),  # an unknown field
        (b"stdout_truncated=0", b"stdout_truncated=yes"),
        (b"cpu_ms=7 ", b"cpu_ms=7  "),  # not the entry's spacing
    ],
)
def test_implausible_exit_records_are_malformed(old, new):
    line = EXIT_LINE[2:-1]
    assert old in line
    assert parse_exit(line.replace(old, new)) is None


# --- file records (where the entry reports the working directory) ---------------------------


def file_record(name: str, data: bytes) -> bytes:
    return b"F " + binascii.b2a_base64(name.encode(), newline=False) + b" " + binascii.b2a_base64(data)


def test_file_records_rebuild_each_file_from_its_chunks():
    decoder = started(file_bytes=100)
    decoder.feed(file_record("a.csv", b"x,y\n") + file_record("a.csv", b"1,2\n") + file_record("e", b"") + b"T\n")
    decoder.feed(EXIT_LINE)

    assert decoder.violation is None
    assert decoder.files == {"a.csv": b"x,y\n1,2\n", "e": b""}
    assert decoder.files_truncated is True


@pytest.mark.parametrize(
    ("records", "violation"),
    [
        (file_record("a", b"1") + file_record("b", b"2") + file_record("a", b"3"), "the file 'a' came in two parts"),
        (file_record("big", b"x" * 101), "file records beyond the 100 bytes of files a run may return"),
        (b"F not-base64! eA==\n", protocol.BAD_FILE_RECORD),
        (b"F " + binascii.b2a_base64(b"\xff", newline=False) + b" eA==\n", protocol.BAD_FILE_RECORD),
        (b"T\nT\n", protocol.TRUNCATED_TWICE),
        (b"T extra\n", protocol.BAD_FILE_RECORD),
        (EXIT_LINE + file_record("late", b"x"), "a 'F' record after the exit record"),
    ],
)
def test_file_records_out_of_the_grammar_are_violations(records, violation):
    decoder = started(file_bytes=100)
    decoder.feed(records)

    assert decoder.violation == violation


def test_a_decoder_that_takes_no_files_refuses_any():
    decoder = started()
    decoder.feed(file_record("a", b"1"))

    assert decoder.violation == "file records beyond the 0 bytes of files a run may return"


def uncaught_line(name: bytes, message: bytes, line: bytes) -> bytes:
    return (
        b"U "
        + binascii.b2a_base64(name, newline=False)
        + b" "
        + binascii.b2a_base64(message, newline=False)
        + b" "
        + line
        + b"\n"
    )


def test_the_uncaught_exception_record_is_decoded_once():
    decoder = started()
    decoder.feed(uncaught_line(b"ZeroDivisionError", b"division by zero", b"2") + EXIT_LINE)
    assert decoder.violation is None
    assert decoder.uncaught == protocol.Uncaught("ZeroDivisionError", "division by zero", 2)
    without_line = started()
    without_line.feed(uncaught_line("é.Error".encode(), b"", b"-"))
    assert without_line.uncaught == protocol.Uncaught("é.Error", "", None)


@pytest.mark.parametrize(
    "record",
    [
        uncaught_line(b"E", b"m", b"1") * 2,  # twice
        uncaught_line(b"", b"m", b"1"),  # no type
        uncaught_line(b"E" * 201, b"m", b"1"),  # a type longer than any
        uncaught_line(b"E", b"m" * 1001, b"1"),  # a message over its cap
        uncaught_line(b"E", b"m", b"-1"),  # not a line number
        b"U RQ== bQ==\n",  # a field missing
        b"U R!== bQ== 1\n",  # not base64
    ],
)
def test_a_malformed_or_repeated_exception_record_is_a_violation(record):
    decoder = started()
    decoder.feed(record)
    assert decoder.violation == protocol.BAD_UNCAUGHT


def test_a_file_record_of_a_whole_chunk_with_the_longest_name_fits_a_line():
    """As the entry writes it (FILE_CHUNK_BYTES of a file named with PATH_MAX_BYTES), fed in
    pieces as a pod log arrives: never longer than the host takes, whatever the split."""
    name = "/".join(["n" * 200] * 5) + "/" + "m" * 19  # 1019 bytes
    assert len(name.encode()) <= PATH_MAX_BYTES
    chunk = bytes(range(256)) * (FILE_CHUNK_BYTES // 256)
    record = b"F " + binascii.b2a_base64(name.encode(), newline=False) + b" " + binascii.b2a_base64(chunk)
    assert len(record) < MAX_LINE_BYTES
    decoder = Decoder(output_bytes=1024, file_bytes=len(chunk))
    decoder.feed(START_LINE)
    for start in range(0, len(record), 4096):
        decoder.feed(record[start : start + 4096])
    assert decoder.violation is None and bytes(decoder.files[name]) == chunk
