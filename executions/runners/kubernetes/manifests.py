"""The Kubernetes objects of one sandbox, as plain dicts ready for the API or for YAML.

Kept apart from the runner so that ``manage.py render_pod``, the tests and the Helm chart's
checks all see exactly what the runner creates. Nothing here talks to a cluster.
"""

from __future__ import annotations

import base64
import math
import re
import secrets
from dataclasses import astuple, dataclass

from executions.runners import languages
from executions.runners.base import FileCaps, Limits, RunSpec
from executions.runners.files import DEPTH_MAX, NAME_MAX_BYTES
from executions.runners.packages import DATA_SUFFIX
from executions.sandbox.entry import FILE_CHUNK_BYTES

MANAGED_BY = "app.kubernetes.io/managed-by"
COMPONENT = "app.kubernetes.io/component"
EXECUTION_LABEL = "integr8scode.io/execution-id"
RUNTIME_LABEL = "integr8scode.io/runtime"
SANDBOX_LABELS = {MANAGED_BY: "integr8scode", COMPONENT: "sandbox"}
SANDBOX_SELECTOR = ",".join(f"{key}={value}" for key, value in SANDBOX_LABELS.items())

CONTAINER = "sandbox"
BUILD_CONTAINER = "build"  # a compiled language's init container
SCRIPT_DIR = "/sandbox"
SCRIPT_KEY, STDIN_KEY, FILES_KEY = "main.py", "stdin", "files"
PACKAGES_DIR = "/opt/packages"  # where the data runtime's image keeps its packages
WORK_DIR = "/work"  # the script's working directory: the given files in, the run's files out
# A ConfigMap holds at most 1 MiB: the script, its stdin and the given files together.
CONFIG_MAP_BYTES = 1 << 20
# The same environment the bubblewrap runner gives a script: nothing of the server's.
SANDBOX_ENV = {"HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "MALLOC_ARENA_MAX": "2"}
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
ADDRESS_SPACE_HEADROOM = 512 << 20  # the container's cgroup limits memory; RLIMIT_AS only stops absurd mappings
MIB = 1 << 20
# What the container runtime adds to every line of a pod's log (the CRI log format):
# "<RFC 3339 timestamp> <stdout|stderr> <F|P> ", 30 bytes of timestamp in UTC (containerd), up
# to 35 with a zone offset (CRI-O), then 10: counted as 48.
LOG_LINE_FRAMING = 48
# Runtimes cut longer lines into partial ("P") lines, each framed: containerd at 16 KiB by
# default; counted at 8 KiB, so that a smaller setting is covered too.
LOG_SPLIT_BYTES = 8 << 10
# An O or E record: "O " + base64 + "\n"; one byte of output makes 4 characters of base64.
RECORD_OVERHEAD = 3
# The longest name an F record carries: the entry walks 16 directories deep, 255 bytes a part.
FILE_NAME_MAX_BYTES = DEPTH_MAX * (NAME_MAX_BYTES + 1)
LOG_SLACK_MB = 1  # the S, U, T and X records, and rounding
# With user namespaces a pod maps uids 0-65535 only; this range avoids the images' own users
# (10001, 65532) and nobody (65534).
USERNS_UIDS = (20000, 40000)
OWNER_UID_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
# A build's limits when a run names none (the server's COMPILE_LIMIT_* defaults).
COMPILE_DEFAULTS = Limits(
    wall_seconds=30, cpu_seconds=30, memory_mb=1024, processes=64, disk_mb=256, output_bytes=64 << 10
)

DEFAULT_OPTIONS = {
    "namespace": "integr8scode-sandbox",
    "runtime_images": {"python3.13": "integr8scode/runtime-python:3.13"},
    "runtime_class": None,  # e.g. "gvisor"
    "image_pull_policy": "IfNotPresent",
    "image_pull_secrets": [],
    "image_pull_timeout": 60.0,  # seconds a pod may take to be scheduled and pull its image
    "deadline_grace": 30.0,  # activeDeadlineSeconds = pull timeout + wall + this (a backstop only)
    "host_grace": 5.0,  # the runner deletes a pod still running this long after its wall limit
    "cpu_request": "100m",
    "cpu_limit": "1",  # cores; the CPU *time* budget is enforced inside by the entry
    "node_selector": {},
    "tolerations": [],  # e.g. [{"key": "pool", "value": "sandbox", "effect": "NoSchedule"}]
    "affinity": {},  # a pod affinity, e.g. nodeAffinity for a dedicated sandbox pool
    # hostUsers: false, a user namespace per pod (its root is no one on the node). Needs the
    # UserNamespacesSupport feature (beta from 1.30, on by default from 1.33, GA in 1.36), Linux
    # 6.3+, containerd 2.0+ or CRI-O 1.25+, runc 1.2+ or crun 1.9+. Where the feature is off the
    # API server drops the field; where the node cannot, the pod fails: turn it off there.
    "user_namespaces": True,
    # Each pod runs as a random uid from this range, so RLIMIT_NPROC counts only its own
    # processes even when pods share a node (with user namespaces: from USERNS_UIDS).
    "uid_base": 100000,
    "uid_count": 100000,
    "python": "/usr/local/bin/python",
    "entry": "/opt/integr8scode/entry.py",
    # The system-call filter the entry installs before it starts the script (baked into the
    # runtime image for its architecture; see deploy/images/runtime-python.Dockerfile).
    "filter": "/opt/integr8scode/filter.bpf",
    "open_files": 256,
    "kubeconfig": None,  # None: in-cluster config, else $KUBECONFIG or ~/.kube/config
    "context": None,
    "api_retries": 4,
    "api_backoff": 0.2,  # seconds, doubled per retry
    "log_reconnects": 3,
}


@dataclass(frozen=True)
class Sandbox:
    """What is decided about one sandbox before it is created."""

    name: str
    uid: int
    image: str


def sandbox_for(spec: RunSpec, options: dict) -> Sandbox:
    base, count = USERNS_UIDS if options["user_namespaces"] else (options["uid_base"], options["uid_count"])
    uid = base + secrets.randbelow(count)
    name = f"sandbox-{_dns_label(spec.execution_id)[:40]}-{secrets.token_hex(3)}"
    return Sandbox(name=name, uid=uid, image=options["runtime_images"][spec.runtime])


def labels(spec: RunSpec) -> dict[str, str]:
    own = {EXECUTION_LABEL: _label_value(spec.execution_id), RUNTIME_LABEL: _label_value(spec.runtime)}
    return SANDBOX_LABELS | own


def run_files(spec: RunSpec) -> dict[str, str]:
    """The run's files for ``SCRIPT_DIR``, name -> base64: its script (as the language's source
    file, with what its build or run needs of ours), stdin and given files."""
    language = languages.by_runtime(spec.runtime)
    data = {(language.source if language else SCRIPT_KEY): _b64(spec.script)}
    if language:
        data |= {name: _b64(content) for name, content in language.support.items()}
    if spec.stdin:
        data[STDIN_KEY] = _b64(spec.stdin)
    if spec.files:
        data |= {
            _file_key(number): base64.b64encode(file.data).decode("ascii") for number, file in enumerate(spec.files)
        }
        data[FILES_KEY] = _b64("".join(f"{_b64(file.name)} {_file_key(n)}\n" for n, file in enumerate(spec.files)))
    return data


def config_map(spec: RunSpec, sandbox: Sandbox, options: dict, *, owner_uid: str) -> dict:
    """The script (and stdin), owned by the pod so the API server's GC removes it with the pod."""
    data = run_files(spec)
    owner = {"apiVersion": "v1", "kind": "Pod", "name": sandbox.name, "uid": owner_uid, "blockOwnerDeletion": False}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(spec, sandbox, options) | {"ownerReferences": [owner]},
        "binaryData": data,
        "immutable": True,
    }


def pod(spec: RunSpec, sandbox: Sandbox, options: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _metadata(spec, sandbox, options),
        "spec": _pod_spec(spec, sandbox, options),
    }


def network_policy(options: dict) -> dict:
    """Default deny, both ways, for every pod of the sandbox namespace (the chart installs it)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny-all", "namespace": options["namespace"]},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


def _metadata(spec: RunSpec, sandbox: Sandbox, options: dict) -> dict:
    return {"name": sandbox.name, "namespace": options["namespace"], "labels": labels(spec)}


def _pod_spec(spec: RunSpec, sandbox: Sandbox, options: dict) -> dict:
    language = languages.by_runtime(spec.runtime)
    pod_spec = {
        "restartPolicy": "Never",
        "activeDeadlineSeconds": active_deadline_seconds(spec.limits, options, compile_limits_of(spec)),
        "terminationGracePeriodSeconds": 0,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "hostname": "sandbox",
        "securityContext": _pod_security(sandbox),
        "containers": [_container(spec, sandbox, options)],
        "volumes": _volumes(spec, sandbox),
    }
    if language and language.compiled:
        pod_spec["initContainers"] = [_build_container(spec, sandbox, options, language)]
    optional = {
        "runtimeClassName": options["runtime_class"],
        "nodeSelector": options["node_selector"],
        "tolerations": options["tolerations"],
        "affinity": options["affinity"],
        "imagePullSecrets": [{"name": name} for name in options["image_pull_secrets"]],
    }
    if options["user_namespaces"]:
        pod_spec["hostUsers"] = False
    return pod_spec | {key: value for key, value in optional.items() if value}


def active_deadline_seconds(limits: Limits, options: dict, compile_limits: Limits | None = None) -> int:
    # Counted by the kubelet from the pod's start, image pull (and a build) included.
    build = compile_limits.wall_seconds if compile_limits else 0
    return math.ceil(options["image_pull_timeout"] + build + limits.wall_seconds + options["deadline_grace"])


def compile_limits_of(spec: RunSpec) -> Limits | None:
    """The build's limits, for a compiled language (None: nothing is built)."""
    language = languages.by_runtime(spec.runtime)
    if not (language and language.compiled):
        return None
    return spec.compile_limits or COMPILE_DEFAULTS


def _pod_security(sandbox: Sandbox) -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": sandbox.uid,
        "runAsGroup": sandbox.uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _container(spec: RunSpec, sandbox: Sandbox, options: dict) -> dict:
    return {
        "name": CONTAINER,
        "image": sandbox.image,
        "imagePullPolicy": options["image_pull_policy"],
        "command": [options["python"], "-I", "-S", options["entry"], *entry_args(spec, options)],
        "workingDir": WORK_DIR,
        "env": [{"name": key, "value": value} for key, value in (SANDBOX_ENV | {"PATH": SANDBOX_PATH}).items()],
        "resources": resources(spec.limits, options, spec.file_caps),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True},
            {"name": "work", "mountPath": WORK_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }


def _build_container(spec: RunSpec, sandbox: Sandbox, options: dict, language: languages.Language) -> dict:
    """The build of a compiled language, before the program: the same container (image, mounts,
    hardening) with the build's limits as its own resources, so the build's memory is never the
    program's. What it builds goes to BUILD_DIR, in the /tmp emptyDir the program's container
    shares; its log holds the build's messages and its C record."""
    caps = compile_limits_of(spec)
    container = _container(spec, sandbox, options)
    entry = container["command"][:4]
    build = language.build_settings(caps, output_bytes=spec.limits.output_bytes, memory=0, resolve=False)
    args = {**_arg_dict(entry_args(spec, options)), **build, "build_only": 1}
    storage = math.ceil(2 * build["build_output"] * logged_record_bytes(1) / MIB) + LOG_SLACK_MB
    return container | {
        "name": BUILD_CONTAINER,
        "command": [*entry, *(f"{key}={value}" for key, value in args.items())],
        "resources": {
            "requests": {
                "cpu": options["cpu_request"],
                "memory": f"{caps.memory_mb}Mi",
                "ephemeral-storage": f"{storage}Mi",
            },
            "limits": {
                "cpu": options["cpu_limit"],
                "memory": f"{caps.memory_mb}Mi",
                "ephemeral-storage": f"{storage}Mi",
            },
        },
    }


def _arg_dict(args: list[str]) -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in args)


def entry_args(spec: RunSpec, options: dict) -> list[str]:
    limits = spec.limits
    args = {
        "script": f"{SCRIPT_DIR}/{SCRIPT_KEY}",
        "stdin": f"{SCRIPT_DIR}/{STDIN_KEY}" if spec.stdin else "/dev/null",
        "wall": limits.wall_seconds,
        "cpu": limits.cpu_seconds,
        "memory": (limits.memory_mb << 20) + ADDRESS_SPACE_HEADROOM,
        "nproc": limits.processes + 1,  # the entry runs as the same uid
        "fsize": limits.disk_mb << 20,
        "nofile": options["open_files"],
        "output": limits.output_bytes,
        "memory_mark": 1,  # a pod has no cgroup of ours to read: a MemoryError is evidence enough
        "filter": options["filter"],
        "packages": PACKAGES_DIR if spec.runtime.endswith(DATA_SUFFIX) else "",
        "given": f"{SCRIPT_DIR}/{FILES_KEY}" if spec.files else "",
        "collect": ",".join(str(cap) for cap in astuple(spec.file_caps)) if spec.file_caps else "",
    }
    language = languages.by_runtime(spec.runtime)
    if language:
        # Its command instead of a script in this interpreter, by the image's paths; the
        # container's cgroup bounds memory (V8 and Go reserve far more address space than they use).
        args |= language.run_settings(resolve=False) | {"memory": 0}
    return [f"{key}={value}" for key, value in args.items() if value != ""]


def resources(limits: Limits, options: dict, file_caps: FileCaps | None = None) -> dict:
    memory = f"{limits.memory_mb}Mi"
    # The working directory and /tmp share the disk limit (the container's ephemeral storage).
    storage = f"{ephemeral_storage_mb(limits, file_caps)}Mi"
    return {
        # Memory and storage requested in full: a sandbox is never the first to be evicted.
        "requests": {"cpu": options["cpu_request"], "memory": memory, "ephemeral-storage": storage},
        "limits": {"cpu": options["cpu_limit"], "memory": memory, "ephemeral-storage": storage},
    }


def ephemeral_storage_mb(limits: Limits, file_caps: FileCaps | None = None) -> int:
    """The pod's disk: its scratch (the disk limit) and its log (``log_allowance_mb``)."""
    return limits.disk_mb + log_allowance_mb(limits, file_caps)


def log_allowance_mb(limits: Limits, file_caps: FileCaps | None = None) -> int:
    """The most the pod's log can take of its ephemeral storage (the kubelet counts it there)
    for a run within its output cap and file caps: so that no such run is evicted for disk."""
    return math.ceil(log_bytes_bound(limits, file_caps) / MIB) + LOG_SLACK_MB


def log_bytes_bound(limits: Limits, file_caps: FileCaps | None = None) -> int:
    """The worst case, as the pod log stores it (every line framed by the runtime).

    Output: every O or E record carries at least one byte (the entry relays each read of the
    pipe at once, up to ``CHUNK_BYTES``), so a script that writes one byte at a time and
    flushes makes one line per byte: ``O AA==`` (7 bytes with its newline) and the framing,
    ~55 bytes logged per byte of output. A record of n bytes costs less per byte, long or
    short, so ``output_bytes`` one-byte records on each stream is the most there can be.
    Files: each file at least one F record, one more per ``FILE_CHUNK_BYTES``, each with the
    file's name; the data base64 encoded (4/3); each line and each cut of a long line framed.
    """
    streams = 2 * limits.output_bytes * logged_record_bytes(1)
    if not file_caps or not file_caps.count:
        return streams
    records = file_caps.count + math.ceil(file_caps.total_bytes / FILE_CHUNK_BYTES)
    per_record = len("F  \n") + _base64_len(FILE_NAME_MAX_BYTES) + 3  # and a chunk's base64 padding
    encoded = math.ceil(file_caps.total_bytes * 4 / 3) + records * per_record
    framed = encoded + (records + math.ceil(encoded / LOG_SPLIT_BYTES)) * LOG_LINE_FRAMING
    return streams + framed


def logged_record_bytes(size: int) -> int:
    """What an O or E record of ``size`` bytes of output takes in the pod log, framing included."""
    line = RECORD_OVERHEAD + _base64_len(size)
    return line + math.ceil(line / LOG_SPLIT_BYTES) * LOG_LINE_FRAMING


def _base64_len(size: int) -> int:
    return 4 * math.ceil(size / 3)


def _volumes(spec: RunSpec, sandbox: Sandbox) -> list[dict]:
    items = [{"key": key, "path": key} for key in run_files(spec)]
    scratch = {"sizeLimit": f"{spec.limits.disk_mb}Mi"}
    return [
        {"name": "script", "configMap": {"name": sandbox.name, "items": items, "defaultMode": 0o444}},
        {"name": "work", "emptyDir": scratch},
        {"name": "tmp", "emptyDir": scratch},
    ]


def _file_key(number: int) -> str:
    return f"file-{number}"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")


def _dns_label(value: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-") or "run"


def _label_value(value: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", value)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned)
