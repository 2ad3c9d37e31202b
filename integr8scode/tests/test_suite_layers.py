"""The suite's layers: `make test` collects every test file; `make test-fast` (``-m "not slow"``)
none that needs a sandbox, a browser, a live server or a process of its own."""

import subprocess
import sys
import tomllib

import pytest

from conftest import BASE_DIR

NOT_THE_PROJECTS = ("node_modules", "var", "test-artifacts")
# Tests that start sandboxes, Chromium or servers, found by fixture and by place.
NEVER_FAST = (
    "executions/tests/abuse/",
    "executions/tests/browser/",
    "executions/tests/admin/browser/",
    "accounts/tests/browser/",
    "executions/tests/runners/test_local.py",
    "executions/tests/runners/test_kubernetes_runner.py",
    "executions/tests/topology/",
    "executions/tests/engine/test_dispatcher.py",  # the dispatcher fixture
    "executions/tests/api/test_over_http.py",  # the live server, through the http fixture
    "integr8scode/tests/test_startup.py",
)


def project_test_files() -> list[str]:
    files = (path.relative_to(BASE_DIR) for path in BASE_DIR.rglob("test_*.py"))
    return sorted(
        str(path) for path in files if not any(part.startswith(".") or part in NOT_THE_PROJECTS for part in path.parts)
    )


def collected(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_every_test_file_is_under_the_test_paths():
    options = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]

    outside = [
        file for file in project_test_files() if not any(file.startswith(f"{root}/") for root in options["testpaths"])
    ]

    assert "deploy/tests/test_helm_chart.py" in project_test_files()
    assert outside == []


@pytest.mark.subprocess
def test_the_fast_selection_leaves_out_sandboxes_browsers_and_servers_and_keeps_the_rest():
    everything, fast = collected(), collected("-m", "not slow")

    assert any(test.startswith("deploy/tests/test_helm_chart.py::") for test in everything)
    assert [test for test in fast if test.startswith(NEVER_FAST)] == []
    assert {test.split("::")[0] for test in fast} >= {
        "executions/tests/pages/test_static_files.py",
        "executions/tests/api/test_validation.py",
        "deploy/tests/test_helm_chart.py",
    }
    assert set(fast) < set(everything)
