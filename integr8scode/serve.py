"""``python -m integr8scode.serve [daphne options] integr8scode.asgi:application``

Daphne, with its access log sent through Python logging (``integr8scode.access``) instead
of printed in Apache format, so ``LOG_FORMAT=json`` gives one JSON object per line for
everything the server logs; and with the requests it refuses itself (too long, too large,
malformed) answered in JSON (:mod:`integr8scode.server_errors`).
"""

import logging

import daphne.cli
import daphne.server

from integr8scode import server_errors

log = logging.getLogger("integr8scode.access")


class AccessLogger:
    """Daphne's action logger. Takes (and ignores) the stream Daphne would print to."""

    def __init__(self, stream=None):
        pass

    def __call__(self, protocol: str, action: str, details: dict) -> None:
        client = details.get("client") or "-"
        if protocol == "http" and action == "complete":
            log.info("%s %s %s", details["method"], details["path"], details["status"],
                     extra={"client": client, "status": details["status"], "size": details["size"]})
        elif protocol == "websocket" and action in ("connected", "disconnected", "rejected"):
            log.info("websocket %s %s", action, details["path"], extra={"client": client})


daphne.cli.AccessLogGenerator = AccessLogger
daphne.server.HTTPFactory = server_errors.HTTPFactory

if __name__ == "__main__":
    daphne.cli.CommandLineInterface.entrypoint()
