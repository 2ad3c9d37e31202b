"""The Kubernetes runner: one pod per run (see runner.py)."""

from executions.runners.kubernetes.runner import KubernetesRunner

__all__ = ["KubernetesRunner"]
