"""Files in and out of a real bubblewrap sandbox, and the data runtime: the given files are in
the script's working directory, what it writes there comes back (plots from plt.show()
among them), and nothing but that directory's regular files crosses to the host."""

import shutil
import textwrap
from dataclasses import replace

import pytest
from django.conf import settings

from executions.runners.base import FileCaps, Limits, RunFile, RunSpec, Stream
from executions.runners.local.runner import LocalRunner
from executions.runners.packages import locked_packages
from executions.tests.runners.test_local import NEEDS_ROOT, Sink

pytestmark = NEEDS_ROOT

LIMITS = Limits(wall_seconds=20, cpu_seconds=20, memory_mb=256, processes=16, disk_mb=8, output_bytes=64 * 1024)
CAPS = FileCaps(count=20, total_bytes=8 << 20, file_bytes=4 << 20)
PACKAGES = f"{settings.DATA_RUNTIME_DIR}/site-packages"


GVISOR = pytest.param(
    "gvisor",
    marks=pytest.mark.skipif(not shutil.which("runsc"), reason="gVisor (runsc) is not installed: make installs it"),
)


# Without a tmpfs of the host's for each sandbox (a server that is not root, or
# scratch_files=None), /work is bubblewrap's capped tmpfs: the entry places the given files and
# reports what the run left there, as in a pod.
ENTRY_REPORTS = pytest.param("bubblewrap-entry-reports", id="bubblewrap-entry-reports")


@pytest.fixture(scope="module", params=["bubblewrap", GVISOR, ENTRY_REPORTS])
def runner(request):
    runtimes = {"bare": settings.EXECUTION_RUNNER["OPTIONS"]["runtimes"][settings.BARE_RUNTIME]}
    runtimes["data"] = {"python": runtimes["bare"], "packages": PACKAGES, "preload": "integr8scode_warm"}
    if request.param == "bubblewrap-entry-reports":
        runner = LocalRunner(runtimes=runtimes, warm=0, scratch_files=None)
    else:
        runner = LocalRunner(runtimes=runtimes, warm=0, isolation=request.param)
    yield runner
    runner.launchers.close()


def run(runner, script, *, runtime="bare", files=(), caps=CAPS, **limits):
    spec = RunSpec("files", textwrap.dedent(script), "", runtime, replace(LIMITS, **limits), tuple(files), caps)
    sink = Sink()
    result = runner.start(spec, sink).wait()
    return result, sink


def test_given_files_are_in_the_working_directory_and_what_the_script_writes_comes_back(runner):
    script = """
        import os
        print(os.getcwd(), sorted(os.listdir(".")), open("in/data.csv").read().strip())
        open("out.txt", "w").write("written")
        open("in/data.csv", "a").write("3,4\\n")
    """
    given = [RunFile("in/data.csv", b"a,b\n1,2\n"), RunFile("unchanged.bin", b"\x00\x01")]
    result, sink = run(runner, script, files=given)

    assert result.succeeded, sink.text(Stream.STDERR)
    assert sink.text(Stream.STDOUT) == "/work ['in', 'unchanged.bin'] a,b\n1,2\n"
    assert [(file.name, file.data) for file in result.files] == [
        ("in/data.csv", b"a,b\n1,2\n3,4\n"),
        ("out.txt", b"written"),
    ]
    assert result.files_truncated is False


def test_a_link_to_a_host_file_comes_back_as_nothing(runner):
    script = """
        import os
        os.symlink("/etc/passwd", "passwd")
        os.symlink("/proc/self/environ", "environ")
        os.mkfifo("fifo")
        open("real.txt", "w").write("mine")
    """
    result, sink = run(runner, script)

    assert result.succeeded, sink.text(Stream.STDERR)
    assert [file.name for file in result.files] == ["real.txt"]


def test_files_over_the_caps_are_left_out_and_the_run_says_so(runner):
    script = """
        for number in range(5):
            open(f"f{number}.txt", "w").write("x" * 100)
    """
    result, _ = run(runner, script, caps=FileCaps(count=3, total_bytes=1000, file_bytes=1000))

    assert [file.name for file in result.files] == ["f0.txt", "f1.txt", "f2.txt"]
    assert result.files_truncated is True


def test_the_working_directory_shares_the_disk_limit(runner):
    result, _ = run(runner, "open('big', 'wb').write(b'x' * (9 << 20))", disk_mb=8)

    assert not result.succeeded
    assert all(file.name != "big" or len(file.data) < 9 << 20 for file in result.files)


def test_the_bare_runtime_has_no_packages(runner):
    result, sink = run(runner, "import numpy")

    assert result.exit_code == 1
    assert "ModuleNotFoundError: No module named 'numpy'" in sink.text(Stream.STDERR)


def test_the_data_runtime_lists_exactly_its_locked_packages(runner):
    assert runner.runtimes()["data"].packages == locked_packages()
    assert {"numpy", "pandas", "matplotlib", "scikit-learn", "jinja2"} <= set(locked_packages())
    assert locked_packages()["typing-extensions"]  # names as PyPI compares them


def test_a_pandas_and_matplotlib_script_reads_a_csv_and_returns_its_plot_and_table(runner):
    script = """
        import matplotlib.pyplot as plt
        import pandas as pd

        frame = pd.read_csv("data.csv")
        print(frame.groupby("city")["temp"].mean().round(1).to_dict())
        frame.plot(x="day", y="temp")
        plt.show()
        plt.plot([1, 2, 3])
        plt.show()
        frame.describe().to_csv("summary.csv")
    """
    data = b"day,city,temp\n1,Oslo,3.5\n2,Oslo,4.5\n1,Rome,15\n2,Rome,17\n"
    result, sink = run(runner, script, runtime="data", files=[RunFile("data.csv", data)])

    assert result.succeeded, sink.text(Stream.STDERR)
    assert sink.text(Stream.STDOUT) == "{'Oslo': 4.0, 'Rome': 16.0}\n"
    assert sink.text(Stream.STDERR) == ""  # no warning about fonts, caches or backends
    names = [file.name for file in result.files]
    assert names == ["figure-1.png", "figure-2.png", "summary.csv"]
    assert all(file.data.startswith(b"\x89PNG\r\n\x1a\n") for file in result.files[:2])
    assert result.files[2].data.startswith(b",day,temp\ncount,")


def test_the_data_runtime_keeps_to_one_thread_for_numeric_work(runner):
    script = """
        import os, threading
        import numpy, scipy.linalg
        scipy.linalg.inv(numpy.eye(200))
        print(threading.active_count(), len(os.listdir("/proc/self/task")), os.environ["OPENBLAS_NUM_THREADS"])
    """
    result, sink = run(runner, script, runtime="data")

    assert result.succeeded, sink.text(Stream.STDERR)
    assert sink.text(Stream.STDOUT) == "1 1 1\n"


def test_a_data_sandbox_has_its_heavy_modules_imported_before_the_run_and_charges_none_of_it(runner):
    script = """
        import sys
        print(all(name in sys.modules for name in ("numpy", "pandas", "matplotlib.pyplot")))
        import matplotlib.pyplot as plt
        print(plt.get_fignums(), plt.get_backend())
    """
    result, sink = run(runner, script, runtime="data")

    assert result.succeeded, sink.text(Stream.STDERR)
    preloaded = runner.isolation.preloads  # gVisor's sandboxes import nothing ahead
    assert sink.text(Stream.STDOUT) == f"{preloaded}\n[] module://integr8scode_figures\n"  # the warm-up figure is gone
    if preloaded:
        assert result.cpu_ms < 300  # the imports (about 0.6 s of CPU) happened before the run


def test_two_data_runs_draw_different_random_numbers(runner):
    script = "import numpy, random\nprint(numpy.random.random(), random.random())"
    first, first_sink = run(runner, script, runtime="data")
    second, second_sink = run(runner, script, runtime="data")

    assert first.succeeded and second.succeeded
    assert first_sink.text(Stream.STDOUT) != second_sink.text(Stream.STDOUT)
