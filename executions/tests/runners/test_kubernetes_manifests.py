"""The sandbox pod's manifest (``executions/runners/kubernetes/manifests.py``) on its own: user
namespaces, scheduling onto a dedicated pool, and an ephemeral-storage allowance that no run
within its caps can outgrow (the pod log, framed by the container runtime, counts there)."""

from __future__ import annotations

import binascii
import math
from dataclasses import replace

import pytest

from executions.runners.base import FileCaps
from executions.runners.kubernetes import manifests
from executions.sandbox.entry import CHUNK_BYTES, FILE_CHUNK_BYTES
from executions.tests.runners.test_kubernetes_scenarios import LIMITS, spec, validate_manifest

POOL_TOLERATIONS = [{"key": "integr8scode.io/sandbox", "operator": "Exists", "effect": "NoSchedule"}]
POOL_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["sandbox"]}]}]
        }
    }
}
# A CRI log line's prefix as CRI-O writes it (local time with its offset: the longest form);
# containerd writes UTC with a Z, 5 bytes shorter.
CRI_PREFIX = b"2025-01-31T23:59:59.123456789+01:00 stdout F "
CRI_PARTIAL = b"2025-01-31T23:59:59.123456789+01:00 stdout P "


def options(**overrides) -> dict:
    return {**manifests.DEFAULT_OPTIONS, **overrides}


def pod_spec(**overrides) -> dict:
    run = spec("print(1)")
    chosen = options(**overrides)
    return manifests.pod(run, manifests.sandbox_for(run, chosen), chosen)["spec"]


# --- user namespaces -------------------------------------------------------------------------


def test_a_sandbox_pod_gets_its_own_user_namespace_by_default():
    spec_ = pod_spec()
    assert spec_["hostUsers"] is False
    # A pod's user namespace maps uids 0-65535: the random uid must be one of them.
    assert manifests.USERNS_UIDS[0] <= spec_["securityContext"]["runAsUser"] < 65536
    assert spec_["securityContext"]["runAsUser"] < sum(manifests.USERNS_UIDS)


def test_user_namespaces_can_be_turned_off_for_clusters_without_them():
    spec_ = pod_spec(user_namespaces=False)
    assert "hostUsers" not in spec_
    assert spec_["securityContext"]["runAsUser"] >= manifests.DEFAULT_OPTIONS["uid_base"]


def test_the_user_namespace_range_keeps_clear_of_the_images_own_users():
    base, count = manifests.USERNS_UIDS
    assert not {10001, 65532, 65534} & set(range(base, base + count))
    assert base + count <= 65536


# --- a dedicated sandbox pool ----------------------------------------------------------------


def test_tolerations_affinity_and_node_selector_reach_the_pod():
    spec_ = pod_spec(tolerations=POOL_TOLERATIONS, affinity=POOL_AFFINITY, node_selector={"pool": "sandbox"})
    assert spec_["tolerations"] == POOL_TOLERATIONS
    assert spec_["affinity"] == POOL_AFFINITY
    assert spec_["nodeSelector"] == {"pool": "sandbox"}


def test_without_a_pool_the_pod_has_no_scheduling_constraints():
    spec_ = pod_spec()
    assert not {"tolerations", "affinity", "nodeSelector"} & set(spec_)


@pytest.mark.parametrize("user_namespaces", [True, False])
def test_the_pod_with_every_option_is_valid_for_every_supported_kubernetes(user_namespaces):
    run = spec("print(1)", files=(), file_caps=FileCaps(20, 8 << 20, 4 << 20))
    chosen = options(
        tolerations=POOL_TOLERATIONS,
        affinity=POOL_AFFINITY,
        node_selector={"pool": "sandbox"},
        user_namespaces=user_namespaces,
        runtime_class="gvisor",
    )
    validate_manifest(manifests.pod(run, manifests.sandbox_for(run, chosen), chosen))


# --- the ephemeral-storage allowance ---------------------------------------------------------


def framed(line: bytes) -> int:
    """What one line the entry writes takes in the pod log: cut as a runtime cuts it, each
    piece with its prefix."""
    body, cut = line[:-1], manifests.LOG_SPLIT_BYTES
    pieces = [body[start : start + cut] for start in range(0, len(body), cut)]
    return sum(len(CRI_PARTIAL) + len(piece) for piece in pieces[:-1]) + len(CRI_PREFIX) + len(pieces[-1]) + 1


def logged_output(prefix: bytes, written: list[bytes]) -> int:
    """The pod log of a stream whose every write the entry relays as a record of its own
    (the entry reads as soon as the pipe has data: a script that flushes after each short line
    gets one record per line)."""
    return sum(framed(prefix + binascii.b2a_base64(data)) for data in written)


def test_the_framing_counted_covers_the_longest_cri_line_prefix():
    assert len(CRI_PREFIX) <= manifests.LOG_LINE_FRAMING and len(CRI_PARTIAL) <= manifests.LOG_LINE_FRAMING


@pytest.mark.parametrize(
    "shape",
    [
        "one byte per write (sys.stdout.write(c); flush)",
        "short lines (print('x', flush=True))",
        "full chunks (print('x' * 10**6))",
    ],
)
def test_a_script_within_its_output_cap_cannot_outgrow_its_ephemeral_storage(shape):
    cap = LIMITS.output_bytes
    size = {"one": 1, "short": 2, "full": CHUNK_BYTES}[shape.split()[0]]
    writes = [b"x" * size] * (cap // size) + ([b"x" * (cap % size)] if cap % size else [])
    # Both streams to the cap, on paper: what the pod log then holds.
    logged = 2 * logged_output(b"O ", writes)
    assert logged <= manifests.log_bytes_bound(LIMITS)
    storage = manifests.resources(LIMITS, manifests.DEFAULT_OPTIONS)["limits"]["ephemeral-storage"]
    # The scratch (the disk limit) and that log fit the pod's ephemeral-storage limit.
    assert LIMITS.disk_mb * manifests.MIB + logged <= int(storage.removesuffix("Mi")) * manifests.MIB


def test_one_byte_records_are_the_worst_case_and_the_bound_is_tight_for_them():
    per_byte = [manifests.logged_record_bytes(size) / size for size in range(1, CHUNK_BYTES + 1)]
    assert max(per_byte) == per_byte[0] == manifests.logged_record_bytes(1)
    writes = [b"x"] * LIMITS.output_bytes
    assert manifests.log_bytes_bound(LIMITS) - 2 * logged_output(b"O ", writes) <= 2 * LIMITS.output_bytes * 5
    # The old allowance (the streams base64 encoded, and 1 MiB for the framing) fell short.
    old = math.ceil(2 * LIMITS.output_bytes * 4 / 3 / manifests.MIB) + 1
    assert 2 * logged_output(b"O ", writes) > old * manifests.MIB


def test_the_files_a_run_returns_fit_too_however_they_are_shaped():
    caps = FileCaps(count=20, total_bytes=8 << 20, file_bytes=4 << 20)
    longest_name = "/".join(["n" * 255] * 16).encode()
    assert len(longest_name) <= manifests.FILE_NAME_MAX_BYTES
    name = binascii.b2a_base64(longest_name, newline=False)

    def file_records(sizes: list[int]) -> int:
        total = 0
        for size in sizes:
            data = b"\xff" * size
            for start in range(0, max(size, 1), FILE_CHUNK_BYTES):
                total += framed(b"F " + name + b" " + binascii.b2a_base64(data[start : start + FILE_CHUNK_BYTES]))
        return total

    shapes = {
        "two big files": [caps.file_bytes, caps.file_bytes],
        "many odd ones": [FILE_CHUNK_BYTES + 1] * (caps.count - 1) + [1],
        "empty files": [0] * caps.count,
    }
    files_bound = manifests.log_bytes_bound(LIMITS, caps) - manifests.log_bytes_bound(LIMITS)
    for label, sizes in shapes.items():
        assert len(sizes) <= caps.count and sum(sizes) <= caps.total_bytes, label
        assert file_records(sizes) <= files_bound, label


def test_the_allowance_grows_with_the_caps_and_is_what_the_pod_asks_for():
    small = replace(LIMITS, output_bytes=64 << 10, disk_mb=8)
    assert manifests.log_allowance_mb(small) < manifests.log_allowance_mb(LIMITS)
    resources = manifests.resources(small, manifests.DEFAULT_OPTIONS)
    expected = f"{manifests.ephemeral_storage_mb(small)}Mi"
    assert resources["requests"]["ephemeral-storage"] == resources["limits"]["ephemeral-storage"] == expected
    assert manifests.ephemeral_storage_mb(small) == 8 + manifests.log_allowance_mb(small)
