"""The runner's access to the Kubernetes API: configuration, retries, and the few calls it makes.

Every call goes through :meth:`KubeApi.call`, which retries what is worth retrying (throttling,
a restarting API server, a dropped connection) with exponential backoff, and lets every
other answer through at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({0, 429, 500, 502, 503, 504})
LOG_CONNECT_TIMEOUT = 10.0
MAX_RETRY_AFTER = 5.0  # seconds; a longer Retry-After is not waited for in full
NO_CONFIG = (
    "No Kubernetes configuration: not running in a cluster, and no kubeconfig at {path} "
    "(set KUBECONFIG or KUBERNETES_KUBECONFIG)"
)
BAD_CONFIG = "The Kubernetes configuration cannot be loaded: {error}"

T = TypeVar("T")


class KubeConfigError(Exception):
    pass


def load_api_client(*, kubeconfig: str | None, context: str | None) -> client.ApiClient:
    """An API client from, in order: the given kubeconfig, $KUBECONFIG, the pod's service
    account, ~/.kube/config."""
    problem = config_problem(kubeconfig=kubeconfig)
    if problem:
        raise KubeConfigError(problem)
    configuration = client.Configuration()
    path = _kubeconfig_path(kubeconfig)
    try:
        if path is None:
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(config_file=path, context=context, client_configuration=configuration)
    except ConfigException as exc:
        raise KubeConfigError(BAD_CONFIG.format(error=exc)) from exc
    # Reads are not retried below us: a read that times out says something (a silent kubelet),
    # and KubeApi.call retries what is worth it.
    configuration.retries = urllib3.Retry(total=3, read=0, redirect=3, raise_on_redirect=True)
    return client.ApiClient(configuration)


def config_problem(*, kubeconfig: str | None) -> str | None:
    """Why there is no configuration to load, without reading credentials: cheap enough for
    a readiness probe, and true of pods that never use the API (the web's)."""
    path = _kubeconfig_path(kubeconfig)
    if path is not None and not os.path.exists(path.split(os.pathsep)[0]):
        return NO_CONFIG.format(path=path)
    return None


def _kubeconfig_path(kubeconfig: str | None) -> str | None:
    """None: in a cluster, with its service account."""
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if not path and os.environ.get("KUBERNETES_SERVICE_HOST"):
        return None
    return path or str(Path("~/.kube/config").expanduser())


def is_retryable(error: Exception) -> bool:
    if isinstance(error, ApiException):
        return error.status in RETRYABLE_STATUS
    return isinstance(error, (urllib3.exceptions.HTTPError, OSError))


def timed_out(error: Exception) -> bool:
    """Nothing came within the read timeout (urllib3 wraps it once it gave up retrying)."""
    if isinstance(error, urllib3.exceptions.MaxRetryError):
        error = error.reason
    return isinstance(error, (urllib3.exceptions.TimeoutError, TimeoutError))


def is_not_found(error: Exception) -> bool:
    return isinstance(error, ApiException) and error.status == 404


def describe(error: Exception) -> str:
    """One line for messages: the API server's own message when there is one."""
    if isinstance(error, ApiException):
        message = _status_message(error)
        return f"{error.status} {error.reason}: {message}" if message else f"{error.status} {error.reason}"
    return f"{type(error).__name__}: {error}"


def _status_message(error: ApiException) -> str:
    import json

    try:
        return json.loads(error.body or "").get("message", "")
    except (ValueError, AttributeError):
        return ""


def retry_after(error: Exception) -> float:
    headers = getattr(error, "headers", None) or {}
    try:
        return min(float(headers.get("Retry-After", 0)), MAX_RETRY_AFTER)
    except (TypeError, ValueError):
        return 0.0


def interrupt(response) -> None:
    """Unblock a thread reading a streaming response (a watch, a followed log)."""
    connection = getattr(response, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class KubeApi:
    """The calls the runner makes, in one namespace, built on first use."""

    def __init__(self, options: dict):
        self.options = options
        self.namespace = options["namespace"]
        self._core: client.CoreV1Api | None = None
        self._attach_core: client.CoreV1Api | None = None
        self._lock = threading.Lock()
        # The client's stream() swaps its ApiClient's transport while it connects: attaches get
        # an ApiClient of their own, and connect one at a time.
        self.attach_lock = threading.Lock()

    @property
    def core(self) -> client.CoreV1Api:
        return self._built("_core")

    @property
    def attach_core(self) -> client.CoreV1Api:
        return self._built("_attach_core")

    def _built(self, attribute: str) -> client.CoreV1Api:
        with self._lock:
            if getattr(self, attribute) is None:
                api_client = load_api_client(kubeconfig=self.options["kubeconfig"], context=self.options["context"])
                setattr(self, attribute, client.CoreV1Api(api_client))
            return getattr(self, attribute)

    def call(self, what: str, function: Callable[..., T], *args, retry_timeouts: bool = True, **kwargs) -> T:
        attempts = self.options["api_retries"] + 1
        for attempt in range(attempts):
            try:
                return function(*args, **kwargs)
            except Exception as exc:
                if not is_retryable(exc) or attempt == attempts - 1 or (timed_out(exc) and not retry_timeouts):
                    raise
                delay = max(self.options["api_backoff"] * 2**attempt, retry_after(exc))
                log.warning("kubernetes %s failed (%s); retrying in %.2fs", what, describe(exc), delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    # --- the calls ------------------------------------------------------------------------

    def create_pod(self, body: dict) -> dict:
        try:
            created = self.call("create pod", self.core.create_namespaced_pod, self.namespace, body)
        except ApiException as exc:
            existing = self._adopt(exc, body)
            if existing is None:
                raise
            return existing
        return self.core.api_client.sanitize_for_serialization(created)

    def patch_pod(self, name: str, patch: dict) -> dict:
        """A merge patch; one that names the pod's resourceVersion applies only to that version
        (409 Conflict otherwise)."""
        patched = self.call(
            "patch pod",
            self.core.patch_namespaced_pod,
            name,
            self.namespace,
            patch,
            _content_type="application/merge-patch+json",
        )
        return self.core.api_client.sanitize_for_serialization(patched)

    def create_or_read_config_map(self, body: dict) -> dict:
        """The ConfigMap as the API server has it (with its uid), created if it was not there."""
        try:
            created = self.call("create configmap", self.core.create_namespaced_config_map, self.namespace, body)
        except ApiException as exc:
            if exc.status != 409:
                raise
            created = self.call(
                "read configmap", self.core.read_namespaced_config_map, body["metadata"]["name"], self.namespace
            )
        return self.core.api_client.sanitize_for_serialization(created)

    def patch_config_map(self, name: str, patch: dict) -> None:
        self.call(
            "patch configmap",
            self.core.patch_namespaced_config_map,
            name,
            self.namespace,
            patch,
            _content_type="application/merge-patch+json",
        )

    def set_owner(self, config_map: str, owners: list[dict]) -> None:
        """Make the ConfigMap owned by its pod, once the pod exists (so it goes with it)."""
        self.patch_config_map(config_map, {"metadata": {"ownerReferences": owners}})

    def create_config_map(self, body: dict) -> None:
        try:
            self.call("create configmap", self.core.create_namespaced_config_map, self.namespace, body)
        except ApiException as exc:
            if self._adopt(exc, body, read=False) is None:
                raise

    def _adopt(self, error: ApiException, body: dict, *, read: bool = True) -> dict | None:
        """An object that already exists because a retried create got through the first time
        (names are unique per run); None when the conflict is with something else."""
        if error.status != 409:
            return None
        if not read:
            return body
        existing = self.read_pod(body["metadata"]["name"])
        return existing if existing["metadata"].get("labels") == body["metadata"]["labels"] else None

    def read_pod(self, name: str) -> dict:
        pod = self.call("read pod", self.core.read_namespaced_pod, name, self.namespace)
        return self.core.api_client.sanitize_for_serialization(pod)

    def delete_pod(self, name: str, *, grace: int | None = None) -> bool:
        """With a grace period (``delete_grace`` by default) the pod shows as terminating
        (``deletionTimestamp``) until its kubelet confirms that the container is gone, rather
        than vanishing from the API while it may still run; 0 forces it out at once."""
        grace = round(self.options["delete_grace"]) if grace is None else grace
        return self._delete("pod", self.core.delete_namespaced_pod, name, grace=grace)

    def delete_config_map(self, name: str) -> bool:
        return self._delete("configmap", self.core.delete_namespaced_config_map, name, grace=0)

    def _delete(self, kind: str, function: Callable, name: str, *, grace: int) -> bool:
        """False when it was already gone."""
        try:
            self.call(
                f"delete {kind}",
                function,
                name,
                self.namespace,
                grace_period_seconds=grace,
                propagation_policy="Background",
            )
            return True
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise

    def list_pods(self, label_selector: str) -> list[dict]:
        pods = self.call("list pods", self.core.list_namespaced_pod, self.namespace, label_selector=label_selector)
        return self.core.api_client.sanitize_for_serialization(pods).get("items", [])

    def list_config_maps(self, label_selector: str) -> list[dict]:
        maps = self.call(
            "list configmaps", self.core.list_namespaced_config_map, self.namespace, label_selector=label_selector
        )
        return self.core.api_client.sanitize_for_serialization(maps).get("items", [])

    def follow_log(self, name: str, container: str, *, idle_timeout: float | None = None):
        """The raw, streaming response of the pod's log; the caller reads and closes it. A read
        that waits longer than ``idle_timeout`` for data raises (urllib3's ReadTimeoutError)."""
        return self.call(
            "read log",
            self.core.read_namespaced_pod_log,
            name,
            self.namespace,
            container=container,
            follow=True,
            _preload_content=False,
            _request_timeout=(LOG_CONNECT_TIMEOUT, idle_timeout) if idle_timeout else None,
            retry_timeouts=False,
        )

    def probe_log(self, name: str, container: str, *, timeout: float) -> None:
        """Ask for the log's last line, once and without retrying: the API server asks the
        pod's kubelet, so an error or no answer within ``timeout`` says that the node is not
        answering."""
        response = self.core.read_namespaced_pod_log(
            name,
            self.namespace,
            container=container,
            tail_lines=1,
            _preload_content=False,
            _request_timeout=(min(timeout, LOG_CONNECT_TIMEOUT), timeout),
        )
        try:
            response.read()
        finally:
            response.release_conn()
