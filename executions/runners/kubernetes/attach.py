"""Writing to a pod's standard input over ``pods/attach``, as the official client speaks it.

The API server upgrades the request to a WebSocket with Kubernetes' stream protocol: every
message starts with its channel (0 is stdin); with ``v5.channel.k8s.io`` a message
``[255, 0]`` closes stdin alone, with ``v4.channel.k8s.io`` closing the session does (the
container has ``stdinOnce``). Only stdin is asked for: the output comes from the pod log as
for every run. ``exec`` is never used (the executors' Role does not grant it).
"""

from __future__ import annotations

from kubernetes.stream import stream
from kubernetes.stream.ws_client import STDIN_CHANNEL

from executions.runners.kubernetes.client import KubeApi

CHUNK_BYTES = 256 * 1024  # per message: the API server relays frames of any size, the kubelet too
SEND_TIMEOUT = 10.0  # seconds a write may block (the API server reads what comes at once)


def write_stdin(api: KubeApi, name: str, container: str, data: bytes) -> None:
    """Write ``data`` to the container's stdin and close it; raises when the attach fails."""
    with api.attach_lock:
        session = stream(
            api.attach_core.connect_get_namespaced_pod_attach,
            name,
            api.namespace,
            container=container,
            stdin=True,
            stdout=False,
            stderr=False,
            tty=False,
            binary=True,
            _preload_content=False,
        )
    try:
        session.sock.settimeout(SEND_TIMEOUT)
        for start in range(0, len(data), CHUNK_BYTES):
            session.write_stdin(data[start : start + CHUNK_BYTES])
        session.close_channel(STDIN_CHANNEL)
    finally:
        session.close()
