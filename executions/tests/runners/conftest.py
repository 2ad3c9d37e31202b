"""Fixtures of the Kubernetes runner's tests: the fake API server, and runners pointed at it."""

from __future__ import annotations

import pytest

from executions.runners.kubernetes.runner import KubernetesRunner
from executions.tests.runners.fake_kube_api import FakeKubeApi

IMAGE = "registry.example/runtime-python:test"


@pytest.fixture
def fake(tmp_path):
    api = FakeKubeApi(tmp_path).start()
    yield api
    api.close()


@pytest.fixture
def make_runner(fake, tmp_path):
    kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
    made = []

    def make(**options) -> KubernetesRunner:
        defaults = {
            "kubeconfig": str(kubeconfig),
            "namespace": "sandbox",
            "api_backoff": 0.01,
            "runtime_images": {"python3.13": IMAGE},
            "image_pull_timeout": 30,
        }
        made.append(KubernetesRunner(**{**defaults, **options}))
        return made[-1]

    yield make
    for runner in made:  # their shared watches, and warm pools
        runner.close()
