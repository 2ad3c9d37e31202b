"""Connect mongoengine to MongoDB: ``MONGODB_URL``, or the embedded server.

The embedded server is mongoeco's MongoDB-wire proxy over a SQLite file under
``VAR_DIR/mongo/``, run in a child process (:mod:`integr8scode.mongo_server`) so that it does
not share an interpreter lock with the web server. Exactly one process owns that file (an
exclusive ``flock``, held by the child); any other process of the same installation
(``manage.py executor``, ``shell``) connects to the owner's server over loopback, through the
address the owner publishes beside the file.
"""

from __future__ import annotations

import atexit
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import mongoengine
from django.conf import settings
from pymongo.uri_parser import parse_uri

from integr8scode.env import ConfigError
from integr8scode.mongo_server import OWNED_ELSEWHERE, take_lock

DEFAULT_DB = "integr8scode"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
# Fail fast (and let /readyz say so) when MongoDB is down, instead of hanging for 30 s.
SERVER_SELECTION_TIMEOUT_MS = 5000
SERVER_FAILED = "the embedded MongoDB server in {directory} did not start (exit status {status}); see its output above"

_lock = threading.Lock()
_embedded: EmbeddedMongo | None = None
_connected_url: str | None = None


class EmbeddedMongo:
    """This process's way to the embedded server: its own child, or another process's."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.address_file = directory / "address"
        self.process: subprocess.Popen | None = None  # the server, when this process owns it

    def url(self) -> str:
        """Start the server if nobody owns the data file, else find the owner's."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._lock_is_free():
            url = self._start()
            if url is not None:
                return url  # else another process started one first
        return self._owner_url()

    def _lock_is_free(self) -> bool:
        fd = take_lock(self.directory)
        if fd is None:
            return False
        os.close(fd)  # the server takes it for itself
        return True

    def _start(self) -> str | None:
        process = subprocess.Popen(
            [sys.executable, "-m", "integr8scode.mongo_server", str(self.directory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=settings.BASE_DIR,
            start_new_session=True,  # a Ctrl-C is for the web server, which still needs its store to stop
        )
        ready = select.select([process.stdout], [], [], START_TIMEOUT)[0]
        url = process.stdout.readline().decode().strip() if ready else ""
        if not url:
            process.kill()
            status = process.wait()
            if status == OWNED_ELSEWHERE:
                return None
            raise ConfigError(SERVER_FAILED.format(directory=self.directory, status=status))
        self.process = process
        atexit.register(self.close)
        return url

    def _owner_url(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.address_file.exists():
                return self.address_file.read_text().strip()
            time.sleep(0.05)
        raise ConfigError(
            f"the embedded MongoDB in {self.directory} is owned by another process that has not "
            "published its address; stop that process or set MONGODB_URL"
        )

    def close(self) -> None:
        """Stop the server this process started (it ends when its standard input closes)."""
        if self.process is None:
            return
        self.process.stdin.close()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def database_name(url: str) -> str:
    return parse_uri(url).get("database") or DEFAULT_DB


def connect() -> None:
    """Register mongoengine's default connection once per process (idempotent, and cheap once
    done: every document operation calls it, see documents.StoredDocument). Processes that serve
    or execute call it as they start, so that the embedded store is up before the first request."""
    global _embedded, _connected_url
    if _connected_url is not None:
        return
    with _lock:
        if _connected_url is not None:
            return
        url = settings.MONGODB_URL
        if not url:
            _embedded = EmbeddedMongo(settings.VAR_DIR / "mongo")
            url = _embedded.url()
        name = settings.MONGODB_DB or database_name(url)
        mongoengine.connect(
            db=name,
            host=url,
            alias="default",
            tz_aware=True,
            uuidRepresentation="standard",
            serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS,
        )
        _connected_url = url
