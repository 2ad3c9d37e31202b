"""Run a dispatcher in its own process: claims queued executions and runs them until
SIGTERM or SIGINT, then finishes (or, after the grace period, fails) what it is running."""

import signal
import threading
from pathlib import Path

import prometheus_client
from django.conf import settings
from django.core.management.base import BaseCommand

from executions import engine
from integr8scode import health, mongo


class Command(BaseCommand):
    help = "Run execution workers (scaled deployments; the web process runs one itself in embedded mode)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--concurrency",
            type=int,
            default=settings.EXECUTOR_CONCURRENCY,
            help="Executions run at once (default: EXECUTOR_CONCURRENCY, the number of cores).",
        )
        parser.add_argument(
            "--grace",
            type=float,
            default=settings.EXECUTOR_GRACE_SECONDS,
            help="Seconds to let running executions finish after SIGTERM.",
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=settings.EXECUTOR_METRICS_PORT,
            help="Serve Prometheus metrics on this port (default: EXECUTOR_METRICS_PORT; 0: off).",
        )
        parser.add_argument(
            "--metrics-addr",
            default="127.0.0.1" if settings.EMBEDDED else "0.0.0.0",
            help="Address for the metrics port.",
        )

    def handle(self, *args, concurrency: int, grace: float, metrics_port: int, metrics_addr: str, **options):
        if concurrency < 1:
            self.stderr.write("--concurrency must be at least 1")
            raise SystemExit(2)
        if metrics_port:
            prometheus_client.start_http_server(metrics_port, addr=metrics_addr)
        shutdown = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: shutdown.set())
        mongo.connect()  # the store first: the embedded one is found (or started) before any claim
        worker = engine.start(concurrency=concurrency)
        if settings.EXECUTOR_PROBE_DIR:  # files for exec probes (integr8scode/health.py)
            health.keep_probe_files(
                Path(settings.EXECUTOR_PROBE_DIR), interval=settings.EXECUTOR_PROBE_INTERVAL_SECONDS, stop=shutdown
            )
        self.stdout.write(f"executor {worker.worker} running {concurrency} at a time", ending="\n")
        self.stdout.flush()
        # A timed wait: a signal delivered to another thread only runs its Python handler once
        # the main thread executes again.
        while not shutdown.wait(0.5):
            pass
        self.stdout.write("shutting down: no new claims; waiting for running executions")
        engine.stop(grace=grace)
