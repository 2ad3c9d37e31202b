"""System checks: configuration problems surface at start-up with ids, not at the first run."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register("executions")
def runner_is_usable(app_configs=None, **kwargs):
    from executions.runners.base import get_runner

    try:
        runner = get_runner()
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc), hint="Set EXECUTION_RUNNER to local, kubernetes or a dotted path.", id="executions.E001"
            )
        ]
    return [checks.Error(problem, id="executions.E002") for problem in runner.check()]
