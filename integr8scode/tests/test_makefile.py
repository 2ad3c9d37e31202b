"""The Makefile: `make run` syncs the runtime dependencies only, the test targets add the dev
group, switching syncs once and staying syncs nothing; `make run` says where to go; static
files are collected when they changed."""

import os
import shutil
import stat
import subprocess
import sys

import pytest

from conftest import BASE_DIR

UV_STUB = """#!/bin/sh
echo "$@" >> "$(dirname "$0")/calls"
"""


def make(*args: str, env: dict | None = None) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def stub_uv(tmp_path):
    """A uv that only writes down how it was called, and an environment of its own."""
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    uv = tmp_path / "uv"
    uv.write_text(UV_STUB)
    uv.chmod(uv.stat().st_mode | stat.S_IXUSR)
    return {
        "args": [f"UV={uv}", f"VENV={tmp_path / 'venv'}", f"PYTHON={sys.executable}"],
        "calls": tmp_path / "calls",
        "venv": tmp_path / "venv",
    }


def synced(stub_uv, mode: str) -> list[str]:
    """The uv calls made by bringing the environment to ``mode`` (run or dev)."""
    stub_uv["venv"].mkdir(exist_ok=True)
    stub_uv["calls"].unlink(missing_ok=True)
    make(*stub_uv["args"], str(stub_uv["venv"] / f".synced-{mode}"))
    return stub_uv["calls"].read_text().splitlines() if stub_uv["calls"].exists() else []


def test_run_syncs_without_the_dev_group_and_the_tests_with_it(stub_uv):
    [run] = synced(stub_uv, "run")
    [dev] = synced(stub_uv, "dev")

    assert run.startswith("sync --frozen --no-dev ")
    assert dev.startswith("sync --frozen ") and "--no-dev" not in dev


def test_staying_in_a_mode_syncs_nothing_and_switching_syncs_once(stub_uv):
    assert len(synced(stub_uv, "dev")) == 1
    assert synced(stub_uv, "dev") == []
    assert len(synced(stub_uv, "run")) == 1
    assert synced(stub_uv, "run") == []
    assert len(synced(stub_uv, "dev")) == 1


def test_uv_is_given_the_interpreter_itself_so_it_keeps_the_environment(stub_uv):
    [call] = synced(stub_uv, "run")

    assert call.endswith(f"--python {sys.executable}")


@pytest.mark.parametrize(("host", "url"), [("127.0.0.1", "http://127.0.0.1:8123/"), ("::1", "http://[::1]:8123/")])
def test_run_prints_the_url_to_open_before_serving(host, url):
    plan = make("-n", "run", f"HOST={host}", "PORT=8123").splitlines()

    announce = next(i for i, line in enumerate(plan) if line.startswith("echo"))
    serve = next(i for i, line in enumerate(plan) if "integr8scode.serve" in line)
    assert plan[announce] == f'echo "Integr8sCode: open {url}"'
    assert announce == serve - 1


def test_run_collects_static_files_only_when_they_changed(tmp_path):
    static_root = tmp_path / "static"
    # The islands count as built, whatever the state of this checkout's.
    plan = ("-n", "-o", "static/islands/.built", "run")

    first = make(*plan, env={"STATIC_ROOT": str(static_root)})
    static_root.mkdir()
    (static_root / "staticfiles.json").write_text("{}")  # newer than every source
    again = make(*plan, env={"STATIC_ROOT": str(static_root)})

    assert "manage.py collectstatic" in first
    assert "manage.py collectstatic" not in again


def test_test_fast_runs_the_tests_not_marked_slow():
    assert 'pytest -m "not slow"' in make("-n", "test-fast")
