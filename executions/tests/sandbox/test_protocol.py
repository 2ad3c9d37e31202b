import binascii

from executions.runners.base import Stream
from executions.sandbox.protocol import MAX_LINE_BYTES, Decoder, ExitRecord, parse_exit

EXIT_LINE = b"X exit=0 signal=- wall_ms=12 cpu_ms=7 maxrss_kb=9000 stdout_truncated=0 stderr_truncated=1 reason=none\n"


def frame(kind: bytes, data: bytes) -> bytes:
    return kind + b" " + binascii.b2a_base64(data)


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
        assert joined(decode_all(Decoder(), stream, step=step), Stream.STDOUT) == text


def test_a_character_split_across_records_survives():
    euro = "€".encode()
    chunks = decode_all(Decoder(), frame(b"O", euro[:1]) + frame(b"O", euro[1:]) + frame(b"O", b"\n"), step=5)
    assert joined(chunks, Stream.STDOUT) == "€\n"


def test_streams_decode_independently_when_interleaved():
    euro = "€".encode()
    data = frame(b"O", euro[:2]) + frame(b"E", "é".encode()) + frame(b"O", euro[2:])
    chunks = decode_all(Decoder(), data, step=2)
    assert joined(chunks, Stream.STDOUT) == "€"
    assert joined(chunks, Stream.STDERR) == "é"


def test_invalid_utf8_is_replaced():
    chunks = decode_all(Decoder(), frame(b"O", b"\xff\xfeok\n"), step=100)
    assert joined(chunks, Stream.STDOUT) == "\ufffd\ufffdok\n"


def test_a_dangling_partial_character_is_replaced_at_the_end():
    chunks = decode_all(Decoder(), frame(b"O", "€".encode()[:2]), step=100)
    assert joined(chunks, Stream.STDOUT) == "\ufffd"


def test_garbage_lines_are_counted_and_skipped():
    decoder = Decoder()
    data = b"hello there\n" + b"O !!!not-base64!!!\n" + frame(b"O", b"kept") + b"X reason=bogus\n" + b"\n"
    chunks = decode_all(decoder, data, step=3)
    assert joined(chunks, Stream.STDOUT) == "kept"
    assert decoder.garbage_lines == 4
    assert decoder.exit is None


def test_a_truncated_last_line_is_dropped_without_an_exit_record():
    decoder = Decoder()
    chunks = decode_all(decoder, frame(b"O", b"one\n") + frame(b"O", b"two\n")[:-3], step=4)
    assert joined(chunks, Stream.STDOUT) == "one\n"
    assert decoder.exit is None
    assert decoder.garbage_lines == 1


def test_an_endless_line_does_not_grow_the_buffer_without_bound():
    decoder = Decoder()
    decoder.feed(b"O " + b"A" * (MAX_LINE_BYTES + 10))
    assert len(decoder._pending) == 0
    assert decoder.garbage_lines == 1


def test_the_host_side_cap_truncates_each_stream_to_exactly_the_cap():
    decoder = Decoder(output_bytes=10)
    data = frame(b"O", b"0123456") + frame(b"O", b"789abc") + frame(b"E", b"short")
    chunks = decode_all(decoder, data, step=50)
    assert joined(chunks, Stream.STDOUT) == "0123456789"
    assert joined(chunks, Stream.STDERR) == "short"
    assert decoder.overflowed == {Stream.STDOUT: True, Stream.STDERR: False}


def test_only_the_first_exit_record_counts():
    decoder = Decoder()
    decoder.feed(EXIT_LINE + EXIT_LINE.replace(b"exit=0", b"exit=3"))
    assert decoder.exit.exit_code == 0


def test_exit_record_with_a_signal_and_a_reason():
    record = parse_exit(EXIT_LINE[2:-1].replace(b"exit=0 signal=-", b"exit=- signal=9").replace(b"=none", b"=timeout"))
    assert record.exit_code is None
    assert record.signal == 9
    assert record.reason == "timeout"


def test_malformed_exit_records_are_rejected():
    assert parse_exit(b"exit=0") is None
    assert parse_exit(EXIT_LINE[2:-1].replace(b"exit=0", b"exit=zero")) is None
    assert parse_exit("exit=0 reason=nöne".encode()) is None
