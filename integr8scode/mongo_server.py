"""The embedded MongoDB-wire server in a process of its own: ``python -m integr8scode.mongo_server DIR``.

mongoeco answers every operation in Python. Inside the web process it would compete with
requests, the dispatcher and the runner for one interpreter lock; here it has its own, and a
core of its own when one is free. It owns the data file (an exclusive ``flock`` on ``DIR/lock``)
for as long as it runs, publishes its address in ``DIR/address`` and prints it, and ends when
its parent closes its standard input or dies. Exit status 3: another process owns the file.
"""

import asyncio
import fcntl
import os
import sys
from pathlib import Path

OWNED_ELSEWHERE = 3


def main(directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    if take_lock(directory) is None:
        return OWNED_ELSEWHERE
    asyncio.run(serve(directory))  # the lock is held until this process ends
    return 0


def take_lock(directory: Path) -> int | None:
    """The data file's lock, held through the returned descriptor; None when another has it."""
    fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


async def start_server(directory: Path):
    """mongoeco's wire server on a loopback port, over ``DIR/executions.sqlite``."""
    from mongoeco.wire.proxy import AsyncMongoEcoProxyServer

    from integr8scode.mongo_engine import EmbeddedEngine

    engine = EmbeddedEngine(str(directory / "executions.sqlite"), executor_workers=1)
    server = AsyncMongoEcoProxyServer(engine=engine, host="127.0.0.1", port=0)
    await server.start()
    return server


async def serve(directory: Path) -> None:
    server = await start_server(directory)
    address_file = directory / "address"
    temporary = address_file.with_suffix(".tmp")
    temporary.write_text(server.address.uri)
    temporary.replace(address_file)
    print(server.address.uri, flush=True)
    try:
        # Returns at end of file: the parent closed the pipe, or exited.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
    finally:
        address_file.unlink(missing_ok=True)
        await server.close()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
