"""The executor's probe files (``integr8scode.health.keep_probe_files``): ``alive`` while the
dispatcher heartbeats, ``ready`` while the stores and the runner answer."""

from __future__ import annotations

import os
import threading
import time

import pytest

from executions.metrics import dispatcher_heartbeat
from integr8scode import health


@pytest.fixture
def checks(monkeypatch):
    results = {"database": "ok", "mongodb": "ok", "channel_layer": "ok", "runner": "ok"}

    def check(name):
        def run():
            if results[name] != "ok":
                raise RuntimeError(results[name])

        return run

    monkeypatch.setattr(health, "CHECKS", {name: check(name) for name in results})
    return results


def test_both_files_are_touched_when_the_dispatcher_is_alive_and_every_check_passes(tmp_path, checks):
    results = health.update_probe_files(tmp_path, alive=lambda: True)
    assert set(results.values()) == {"ok"}
    assert (tmp_path / health.ALIVE_FILE).exists() and (tmp_path / health.READY_FILE).exists()


def test_a_failing_store_takes_readiness_away_but_not_liveness(tmp_path, checks, caplog):
    health.update_probe_files(tmp_path, alive=lambda: True)
    checks["mongodb"] = "no answer"
    health.update_probe_files(tmp_path, alive=lambda: True)
    assert (tmp_path / health.ALIVE_FILE).exists() and not (tmp_path / health.READY_FILE).exists()
    assert "mongodb: RuntimeError: no answer" in caplog.text


def test_a_stalled_dispatcher_stops_refreshing_the_alive_file(tmp_path, checks):
    alive = tmp_path / health.ALIVE_FILE
    health.update_probe_files(tmp_path, alive=lambda: True)
    os.utime(alive, (1, 1))
    health.update_probe_files(tmp_path, alive=lambda: False)
    assert alive.stat().st_mtime == 1


def test_the_dispatcher_is_alive_while_its_heartbeat_is_fresh():
    dispatcher_heartbeat.set(time.time())
    assert health.dispatcher_alive()
    dispatcher_heartbeat.set(time.time() - health.HEARTBEAT_STALE_SECONDS - 5)
    assert not health.dispatcher_alive()


def test_the_files_are_kept_until_stop_and_readiness_goes_with_it(tmp_path, checks):
    stop = threading.Event()
    thread = health.keep_probe_files(tmp_path, interval=0.05, stop=stop, alive=lambda: True)
    deadline = time.monotonic() + 10
    while not (tmp_path / health.READY_FILE).exists():
        assert time.monotonic() < deadline, "the probe files were not written"
        time.sleep(0.02)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive() and not (tmp_path / health.READY_FILE).exists()
    assert (tmp_path / health.ALIVE_FILE).exists()
