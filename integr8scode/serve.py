"""``python -m integr8scode.serve [daphne options] integr8scode.asgi:application``

The process that serves: it makes the embedded installation's keys if they are not there yet
(integr8scode.keys), connects the store (starting the embedded one), starts this process's
dispatcher unless ``EXECUTOR_EMBEDDED`` is off, then runs Daphne: with its access log sent
through Python logging (``integr8scode.access``) instead of printed in Apache format, so
``LOG_FORMAT=json`` gives one JSON object per line for everything the server logs; and with the
requests it refuses itself (too long, too large, malformed) answered in JSON
(:mod:`integr8scode.server_errors`).
"""

import atexit
import logging
import os
import sys
from pathlib import Path

import daphne.cli
import daphne.server
import django

from integr8scode import keys, server_errors
from integr8scode.env import env_path, env_secret

log = logging.getLogger("integr8scode.access")
BASE_DIR = Path(__file__).resolve().parent.parent


class AccessLogger:
    """Daphne's action logger. Takes (and ignores) the stream Daphne would print to."""

    def __init__(self, stream=None):
        pass

    def __call__(self, protocol: str, action: str, details: dict) -> None:
        client = details.get("client") or "-"
        if protocol == "http" and action == "complete":
            log.info(
                "%s %s %s",
                details["method"],
                details["path"],
                details["status"],
                extra={"client": client, "status": details["status"], "size": details["size"]},
            )
        elif protocol == "websocket" and action in ("connected", "disconnected", "rejected"):
            log.info("websocket %s %s", action, details["path"], extra={"client": client})


daphne.cli.AccessLogGenerator = AccessLogger
daphne.server.HTTPFactory = server_errors.HTTPFactory


def prepare() -> None:
    """What serving needs before the first request: keys, the store, the dispatcher."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integr8scode.settings")
    if not env_secret("MONGODB_URL"):  # embedded: the keys are the installation's own
        keys.ensure(env_path("VAR_DIR", BASE_DIR / "var"))
    django.setup()
    from django.conf import settings

    from executions import engine
    from integr8scode import mongo

    mongo.connect()
    if settings.EXECUTOR_EMBEDDED:
        engine.start()
        atexit.register(engine.stop)


def websocket_message_bytes() -> int:
    """The largest submission a WebSocket message may carry: the script, its stdin and the
    files (base64, the largest encoding) at their caps, with room for the JSON around them.
    Daphne's own default (1 MiB) would drop a signed-in user's submission without a word."""
    from django.conf import settings

    files = settings.INPUT_FILE_CAPS["total_bytes"] * 4 // 3 + 1024 * settings.INPUT_FILE_CAPS["count"]
    return 6 * (settings.SCRIPT_MAX_BYTES + settings.STDIN_MAX_BYTES) + files + (64 << 10)


if __name__ == "__main__":
    prepare()
    if not any(arg.startswith("--websocket-max-") for arg in sys.argv):
        size = str(websocket_message_bytes())
        sys.argv[1:1] = ["--websocket-max-message-size", size, "--websocket-max-frame-size", size]
    daphne.cli.CommandLineInterface.entrypoint()
