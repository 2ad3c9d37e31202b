"""The files of a run's working directory: the names a file may have, placing the given ones
before the script starts, and taking back what it made after it has ended.

The host reads the directory itself once every process of the sandbox is gone, so nothing
changes under it; it still follows no link, reads regular files only and stops at the caps.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path

from executions.runners.base import FileCaps, RunFile

# Control characters (NUL, newline, C1), format characters (bidi overrides, zero-width) and
# line or paragraph separators: a name with one reads as another name, or breaks a URL.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
NAME_MAX_BYTES = 255  # one part of a path
PATH_MAX_BYTES = 1024
DEPTH_MAX = 16
BAD_NAME = "{name!r} is not a file name: {why}"


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a file of a run's working directory, or None when it can: a
    relative, "/"-separated path without "." or ".." parts, NULs or other control characters."""
    if not name:
        return BAD_NAME.format(name=name, why="it is empty")
    if name.startswith("/"):
        return BAD_NAME.format(name=name, why="it must be relative to the working directory")
    if any(unicodedata.category(character) in HIDDEN_CATEGORIES for character in name):
        return BAD_NAME.format(name=name, why="it holds a NUL, a control, format or line-separator character")
    if "\\" in name:
        return BAD_NAME.format(name=name, why='parts are separated by "/", not "\\"')
    if len(name.encode()) > PATH_MAX_BYTES:
        return BAD_NAME.format(name=name, why=f"it is longer than {PATH_MAX_BYTES} bytes")
    parts = name.split("/")
    if len(parts) > DEPTH_MAX:
        return BAD_NAME.format(name=name, why=f"it is more than {DEPTH_MAX} directories deep")
    if any(part in ("", ".", "..") for part in parts):
        return BAD_NAME.format(name=name, why='no part may be empty, "." or ".."')
    if any(len(part.encode()) > NAME_MAX_BYTES for part in parts):
        return BAD_NAME.format(name=name, why=f"a part is longer than {NAME_MAX_BYTES} bytes")
    return None


def place(root: Path, files: tuple[RunFile, ...], *, uid: int | None) -> None:
    """Write ``files`` under ``root`` (the working directory, empty), owned by ``uid`` where one
    is given so that the script may change or remove them. Raises OSError (a name that was
    not checked before it got here among them)."""
    for file in files:
        if problem := name_problem(file.name):
            raise OSError(problem)
        target = root.joinpath(*file.name.split("/"))
        for directory in reversed([parent for parent in target.parents if parent != root and root in parent.parents]):
            if not directory.is_dir():
                directory.mkdir(mode=0o755)
                if uid is not None:
                    os.chown(directory, uid, uid)
        write_new(target, file.data, mode=0o644, uid=uid)


def write_new(path: Path, data: bytes, *, mode: int, uid: int | None = None) -> None:
    """A new file (never through a link, never over one that is there) holding ``data``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if uid is not None:
            os.fchown(fd, uid, uid)
    finally:
        os.close(fd)


def collect(root: Path, given: tuple[RunFile, ...], caps: FileCaps) -> tuple[list[RunFile], bool]:
    """The files under ``root`` that the run made or changed (not the given ones it left as
    they were), in name order, within ``caps``; and whether any were left out."""
    unchanged = {file.name: file.data for file in given}
    found: list[RunFile] = []
    left_out = False
    total = 0
    try:
        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return [], False  # no working directory (the sandbox never started)
    try:
        for name, dir_fd, entry, size in _regular_files(root_fd, "", 0):
            if name is None or name_problem(name):
                left_out = True  # a name that could not be given back (not UTF-8, too deep...)
                continue
            data = None
            if name in unchanged and size == len(unchanged[name]):
                data = _read(dir_fd, entry, size)
                if data == unchanged[name]:
                    continue
            if size > caps.file_bytes or total + size > caps.total_bytes or len(found) >= caps.count:
                left_out = True
                continue
            data = data if data is not None else _read(dir_fd, entry, size)
            if data is None:
                continue
            found.append(RunFile(name, data))
            total += len(data)
    finally:
        os.close(root_fd)
    return found, left_out


def _regular_files(dir_fd: int, prefix: str, depth: int):
    """(name, its directory's descriptor, entry, size) of every regular file below, sorted;
    (None, ...) for what cannot be named."""
    try:
        entries = sorted(os.listdir(dir_fd))
    except OSError:
        return
    for entry in entries:
        try:
            info = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        try:
            name = prefix + entry.encode("utf-8", "surrogateescape").decode("utf-8")
        except UnicodeDecodeError:
            name = None
        if stat.S_ISREG(info.st_mode):
            yield name, dir_fd, entry, info.st_size
        elif stat.S_ISDIR(info.st_mode):
            if name is None or depth + 1 >= DEPTH_MAX:
                yield None, dir_fd, entry, 0
                continue
            try:
                child = os.open(entry, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
            except OSError:
                continue
            try:
                yield from _regular_files(child, name + "/", depth + 1)
            finally:
                os.close(child)


def _read(dir_fd: int, entry: str, size: int) -> bytes | None:
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, left = [], size
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


REPORTED_BADLY = "the sandbox reported {what}"


def reported(files: dict[str, bytes], caps: FileCaps) -> tuple[list[RunFile], bool]:
    """The files a sandbox entry reported (where the host cannot read the directory itself),
    taken as ``collect`` takes them: a name that could not be given back is left out (and
    said); more files or bytes than the caps allow mean the entry broke the protocol
    (ValueError says how)."""
    if len(files) > caps.count:
        raise ValueError(REPORTED_BADLY.format(what=f"{len(files)} files, more than {caps.count}"))
    for name, data in files.items():
        if len(data) > caps.file_bytes:
            raise ValueError(REPORTED_BADLY.format(what=f"{name!r} of {len(data)} bytes, over {caps.file_bytes}"))
    kept = [RunFile(name, bytes(data)) for name, data in files.items() if not name_problem(name)]
    return kept, len(kept) < len(files)


def reported_by(decoder, caps: FileCaps | None) -> tuple[list[RunFile], bool]:
    """``reported`` for what ``decoder`` (a sandbox.protocol.Decoder) rebuilt; files over the
    caps become the decoder's protocol violation (so the run settles as a system_error)."""
    if caps is None or decoder.violation is not None:
        return [], False
    try:
        return reported(decoder.files, caps)
    except ValueError as exc:
        decoder.violation = str(exc)
        return [], False
