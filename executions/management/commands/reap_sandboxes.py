"""Clean up after crashes: executions whose worker stopped renewing their lease, and sandboxes
(pods and ConfigMaps, or the local runner's processes and cgroups) that outlived their run.
Meant for a schedule (the Helm chart's CronJob); prints one summary line."""

import inspect
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from executions import engine
from executions.documents import Execution, Status
from executions.runners.base import BaseRunner, get_runner

SUMMARY = (
    "reaped {removed} leftover sandbox(es) of the {runner} runner (older than {older_than:g}s{finished}); "
    "expired leases: {requeued} requeued, {failed} failed"
)
REAP_FAILED = "Reaping {runner} sandboxes failed: {error}"
# A sandbox lives at most its wall limit plus start-up (an image pull) and clean-up: anything
# this much older than the wall cap is certainly left over.
SLACK_SECONDS = 600


class Command(BaseCommand):
    help = "Fail or requeue executions with expired leases and remove leftover sandboxes."

    def add_arguments(self, parser):
        default = settings.EXECUTION_LIMITS["wall_seconds"] + SLACK_SECONDS
        parser.add_argument(
            "--older-than",
            type=float,
            default=default,
            metavar="SECONDS",
            help=f"Remove sandboxes older than this (default: the wall cap + {SLACK_SECONDS}s).",
        )

    def handle(self, *args, older_than: float, **options):
        counts = engine.executions_recover_expired()
        runner = get_runner()
        try:
            removed = reap(runner, older_than=timedelta(seconds=older_than))
        except Exception as exc:
            raise CommandError(REAP_FAILED.format(runner=runner.name, error=exc)) from exc
        finished = " or of finished executions" if accepts_finished(runner) else ""
        self.stdout.write(
            SUMMARY.format(removed=removed, runner=runner.name, older_than=older_than, finished=finished, **counts)
        )


def reap(runner: BaseRunner, *, older_than: timedelta) -> int:
    if accepts_finished(runner):
        return runner.reap(older_than=older_than, finished=executions_not_active)
    return runner.reap(older_than=older_than)


def accepts_finished(runner: BaseRunner) -> bool:
    """Runners that label sandboxes with their execution can also remove those of final ones."""
    return "finished" in inspect.signature(runner.reap).parameters


def executions_not_active(execution_ids: Iterable[str]) -> set[str]:
    """Of these ids, those of executions that are final or no longer exist."""
    ids = {execution_id for execution_id in execution_ids if execution_id}
    active = Execution.objects(execution_id__in=list(ids), status__in=[Status.QUEUED, Status.RUNNING])
    return ids - set(active.scalar("execution_id"))
