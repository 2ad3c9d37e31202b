"""Connect mongoengine to MongoDB: ``MONGODB_URL``, or the embedded server.

The embedded server is mongoeco's MongoDB-wire proxy over a SQLite file under
``VAR_DIR/mongo/``. Exactly one process owns that file (an exclusive ``flock``); any other
process of the same installation (``manage.py executor``, ``shell``) connects to the
owner's server over loopback, through the address the owner publishes beside the file.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import fcntl
import os
import threading
import time
from pathlib import Path

import mongoengine
from django.conf import settings
from pymongo.uri_parser import parse_uri

from integr8scode.env import ConfigError

DEFAULT_DB = "integr8scode"
START_TIMEOUT = 15.0
# Fail fast (and let /readyz say so) when MongoDB is down, instead of hanging for 30 s.
SERVER_SELECTION_TIMEOUT_MS = 5000

_lock = threading.Lock()
_embedded: EmbeddedMongo | None = None
_connected_url: str | None = None


class EmbeddedMongo:
    """Owns the embedded server: a lock file, a server thread with its own event loop."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.address_file = directory / "address"
        self._lock_fd: int | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def url(self) -> str:
        """Start the server if this process can own the data file, else find the owner's."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._try_lock():
            return self._start()
        return self._owner_url()

    def _try_lock(self) -> bool:
        fd = os.open(self.directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def _start(self) -> str:
        ready: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="mongoeco", daemon=True)
        self._thread.start()
        url = ready.result(timeout=START_TIMEOUT)
        temporary = self.address_file.with_suffix(".tmp")
        temporary.write_text(url)
        temporary.replace(self.address_file)
        atexit.register(self.close)
        return url

    def _serve(self, ready: concurrent.futures.Future[str]) -> None:
        try:
            asyncio.run(self._run_server(ready))
        except BaseException as exc:  # surfaced to the starting thread
            if not ready.done():
                ready.set_exception(exc)

    async def _run_server(self, ready: concurrent.futures.Future[str]) -> None:
        from mongoeco.wire.proxy import AsyncMongoEcoProxyServer

        from integr8scode.mongo_engine import EmbeddedEngine

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        engine = EmbeddedEngine(str(self.directory / "executions.sqlite"), executor_workers=1)
        server = AsyncMongoEcoProxyServer(engine=engine, host="127.0.0.1", port=0)
        await server.start()
        ready.set_result(server.address.uri)
        try:
            await self._stop.wait()
        finally:
            await server.close()

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
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.address_file.unlink(missing_ok=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def database_name(url: str) -> str:
    return parse_uri(url).get("database") or DEFAULT_DB


def connect() -> None:
    """Register mongoengine's default connection once per process (idempotent)."""
    global _embedded, _connected_url
    with _lock:
        if _connected_url is not None:
            return
        url = settings.MONGODB_URL
        if not url:
            _embedded = EmbeddedMongo(settings.VAR_DIR / "mongo")
            url = _embedded.url()
        name = settings.MONGODB_DB or database_name(url)
        mongoengine.connect(
            db=name, host=url, alias="default", tz_aware=True, uuidRepresentation="standard",
            serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS,
        )
        _connected_url = url
