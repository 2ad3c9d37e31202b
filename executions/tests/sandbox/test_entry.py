"""The entry's own bookkeeping as the script's processes come and go under it: a process
that ends while the supervisor reads its figures is no reason for the supervisor to fail."""

import subprocess

from conftest import wait_until
from executions.sandbox import entry


def test_a_process_reaped_between_opening_and_reading_its_stat_counts_as_none(monkeypatch):
    process = subprocess.Popen(["sleep", "60"])
    opened = entry.posix.open

    def open_then_reap(path, flags, *rest):
        fd = opened(path, flags, *rest)
        if path == f"/proc/{process.pid}/stat":
            process.kill()
            process.wait()  # gone from /proc between the open and the read
        return fd

    monkeypatch.setattr(entry.posix, "open", open_then_reap)
    try:
        assert entry.process_cpu(process.pid) == 0.0
    finally:
        process.kill()
        process.wait()


def test_a_running_process_is_counted_with_its_cpu_time():
    busy = subprocess.Popen(["python3", "-c", "while True: pass"])
    try:
        wait_until(lambda: entry.process_cpu(busy.pid) >= 0.2, timeout=10, message="0.2 s of CPU counted")
    finally:
        busy.kill()
        busy.wait()
