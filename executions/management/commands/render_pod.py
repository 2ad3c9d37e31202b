"""Print, as YAML, what the kubernetes runner would create for a script with the current
settings: the ConfigMap, the Pod, and the namespace's NetworkPolicy (which the Helm chart
installs). Nothing is sent to a cluster."""

from pathlib import Path

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from executions.limits import limit_caps
from executions.runners.base import RunSpec
from executions.runners.kubernetes import manifests

KUBERNETES_BACKEND = "executions.runners.kubernetes.KubernetesRunner"
NOT_KUBERNETES = "# EXECUTION_RUNNER is not kubernetes: showing the kubernetes runner's defaults\n"
OWNER_NOTE = "# ownerReferences[0].uid is set to the pod's uid when the runner creates the ConfigMap\n"
UNKNOWN_RUNTIME = "Unknown runtime {name!r}; configured: {available}"
UNREADABLE = "Cannot read {path}: {error}"


class Command(BaseCommand):
    help = "Print the ConfigMap, Pod and NetworkPolicy YAML the kubernetes runner would create for a script."
    requires_system_checks = []  # it reaches no cluster, so it works where none is configured

    def add_arguments(self, parser):
        parser.add_argument("--script", required=True, metavar="FILE", help="The Python script to run.")
        parser.add_argument("--stdin", metavar="FILE", help="What the script reads on stdin.")
        parser.add_argument("--runtime", help="Runtime name (default: DEFAULT_RUNTIME, else the first configured).")
        parser.add_argument("--execution-id", default="render-pod-example")

    def handle(self, *args, script: str, stdin: str | None, runtime: str | None, execution_id: str, **options):
        runner_options = kubernetes_options()
        spec = RunSpec(
            execution_id=execution_id,
            script=_read(script),
            stdin=_read(stdin) if stdin else "",
            runtime=_runtime(runtime, runner_options),
            limits=limit_caps(),
        )
        sandbox = manifests.sandbox_for(spec, runner_options)
        documents = [
            manifests.config_map(spec, sandbox, runner_options, owner_uid=manifests.OWNER_UID_PLACEHOLDER),
            manifests.pod(spec, sandbox, runner_options),
            manifests.network_policy(runner_options),
        ]
        if settings.EXECUTION_RUNNER["BACKEND"] != KUBERNETES_BACKEND:
            self.stdout.write(NOT_KUBERNETES, ending="")
        self.stdout.write(OWNER_NOTE + yaml.safe_dump_all(documents, sort_keys=False), ending="")


def kubernetes_options() -> dict:
    configured = settings.EXECUTION_RUNNER.get("OPTIONS", {})
    if settings.EXECUTION_RUNNER["BACKEND"] != KUBERNETES_BACKEND:
        configured = {}
    return {**manifests.DEFAULT_OPTIONS, **configured}


def _runtime(requested: str | None, options: dict) -> str:
    available = list(options["runtime_images"])
    default = settings.DEFAULT_RUNTIME if settings.DEFAULT_RUNTIME in available else available[0]
    name = requested or default
    if name not in available:
        raise CommandError(UNKNOWN_RUNTIME.format(name=name, available=", ".join(available)))
    return name


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(UNREADABLE.format(path=path, error=exc)) from exc
