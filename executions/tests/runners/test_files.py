"""The files of a run's working directory, on the host's side: which names a given file may
have, how they are placed, and what the host takes back after the run (no link followed,
nothing but regular files, within the caps)."""

import os

import pytest

from executions.runners.base import FileCaps, RunFile
from executions.runners.files import DEPTH_MAX, collect, name_problem, place, reported

ROOMY = FileCaps(count=20, total_bytes=1 << 20, file_bytes=1 << 20)


@pytest.mark.parametrize("name", ["data.csv", "inputs/a.txt", "a/b/c/d.json", "naïve résumé.txt", ".hidden", "x..y"])
def test_relative_names_are_file_names(name):
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "empty"),
        ("/etc/passwd", "relative"),
        ("../escape", '".."'),
        ("a/../../b", '".."'),
        ("./a", '"."'),
        ("a//b", "empty"),
        ("a/", "empty"),
        ("nul\x00byte", "NUL"),
        ("line\nbreak", "control"),
        ("x\u202egnp.html", "format"),  # a bidi override: reads as "xlmth.png"
        ("zero\u200bwidth", "format"),
        ("c1\x85control", "control"),
        ("line\u2028separator", "separator"),
        ("back\\slash", '"/"'),
        ("x" * 256, "longer than 255"),
        ("/".join(["d"] * (DEPTH_MAX + 1)), "deep"),
    ],
)
def test_other_names_are_refused_with_the_reason(name, why):
    assert why in name_problem(name)


def test_given_files_are_placed_with_their_directories(tmp_path):
    place(tmp_path, (RunFile("data.csv", b"a,b\n"), RunFile("in/deep/x.bin", b"\x00\xff")), uid=None)

    assert (tmp_path / "data.csv").read_bytes() == b"a,b\n"
    assert (tmp_path / "in" / "deep" / "x.bin").read_bytes() == b"\x00\xff"


def test_a_name_nobody_checked_is_refused_when_placing(tmp_path):
    with pytest.raises(OSError, match='".."'):
        place(tmp_path / "work", (RunFile("../outside", b"x"),), uid=None)
    assert not (tmp_path / "outside").exists()


def test_what_the_run_made_or_changed_is_taken_back_and_unchanged_inputs_are_not(tmp_path):
    given = (RunFile("same.txt", b"same"), RunFile("changed.txt", b"before"), RunFile("removed.txt", b"gone"))
    place(tmp_path, given, uid=None)
    (tmp_path / "changed.txt").write_bytes(b"after!")  # the same size, other bytes
    (tmp_path / "removed.txt").unlink()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "new.csv").write_bytes(b"x,y\n")

    found, left_out = collect(tmp_path, given, ROOMY)

    assert [(file.name, file.data) for file in found] == [("changed.txt", b"after!"), ("out/new.csv", b"x,y\n")]
    assert left_out is False


def test_links_and_special_files_are_never_followed_or_read(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("the host's")
    work = tmp_path / "work"
    work.mkdir()
    (work / "link").symlink_to(secret)
    (work / "dir-link").symlink_to(tmp_path)
    os.mkfifo(work / "fifo")  # reading it would block the host
    (work / "real.txt").write_text("mine")

    found, left_out = collect(work, (), ROOMY)

    assert [file.name for file in found] == ["real.txt"]
    assert left_out is False


@pytest.mark.parametrize(
    ("caps", "kept"),
    [
        (FileCaps(count=2, total_bytes=1000, file_bytes=1000), ["a", "b"]),
        (FileCaps(count=10, total_bytes=25, file_bytes=1000), ["a", "b"]),  # c would pass the total
        (FileCaps(count=10, total_bytes=1000, file_bytes=10), ["a", "b"]),  # c alone is too large
    ],
)
def test_what_is_over_a_cap_is_left_out_and_said(tmp_path, caps, kept):
    for name, size in (("a", 10), ("b", 10), ("c", 11)):
        (tmp_path / name).write_bytes(b"x" * size)

    found, left_out = collect(tmp_path, (), caps)

    assert [file.name for file in found] == kept
    assert left_out is True


def test_a_name_that_is_not_utf8_is_left_out_and_said(tmp_path):
    (tmp_path / os.fsdecode(b"bad-\xff")).write_bytes(b"x")
    (tmp_path / "good").write_bytes(b"y")

    found, left_out = collect(tmp_path, (), ROOMY)

    assert [file.name for file in found] == ["good"] and left_out is True


def test_no_working_directory_means_no_files(tmp_path):
    assert collect(tmp_path / "missing", (), ROOMY) == ([], False)


def test_files_an_entry_reports_are_checked_as_the_host_would_have_taken_them():
    caps = FileCaps(count=2, total_bytes=100, file_bytes=10)
    assert reported({"a.txt": bytearray(b"1")}, caps) == ([RunFile("a.txt", b"1")], False)
    # A name the local runner would not give back either is left out, and said: not a broken run.
    assert reported({"a\nb": b"1", "ok": b"2"}, caps) == ([RunFile("ok", b"2")], True)
    assert reported({"back\\slash": b""}, caps) == ([], True)
    for files, why in [
        ({"a": b"", "b": b"", "c": b""}, "3 files, more than 2"),
        ({"big": b"x" * 11}, "'big' of 11 bytes, over 10"),
    ]:
        with pytest.raises(ValueError, match=why.replace("(", r"\(").replace(".", r"\.")):
            reported(files, caps)


def test_what_the_run_made_under_a_name_it_could_not_be_given_back_by_is_left_out_and_said(tmp_path):
    (tmp_path / "a\nb").write_bytes(b"x")
    (tmp_path / "back\\slash").write_bytes(b"y")
    (tmp_path / "fine.txt").write_bytes(b"z")

    found, left_out = collect(tmp_path, (), ROOMY)

    assert [file.name for file in found] == ["fine.txt"] and left_out is True
