"""The runner's one shared watch of the sandbox namespace (``informer.py``) against the fake API
server: every run reads its pod from it; it resumes from bookmarks, lists again when its
history expired, and reconnects when dropped, without a run lost or stuck."""

from __future__ import annotations

import threading

import pytest

from conftest import wait_until
from executions.runners.base import ErrorType, Stream
from executions.runners.kubernetes import status
from executions.tests.runners.fake_kube_api import Fault, Run
from executions.tests.runners.test_kubernetes_scenarios import RecordingSink, _wait_in_thread, run, spec


@pytest.fixture
def runner(make_runner):
    return make_runner()


SLOW = "import time\nprint('begun', flush=True)\ntime.sleep(1)\nprint('done')"


def watch_queries(fake) -> list[str]:
    return [query for query in fake.queries("GET", r"/pods$") if "watch=true" in query]


def test_concurrent_runs_share_one_watch(runner, fake):
    results = []

    def one(number: int) -> None:
        results.append(run(runner, f"print({number})", execution_id=f"exec-{number}"))

    threads = [threading.Thread(target=one, args=(number,)) for number in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(sink.text(Stream.STDOUT) for _, sink in results) == [f"{n}\n" for n in range(6)]
    assert all(result.succeeded for result, _ in results)
    (query,) = watch_queries(fake)  # one watch for all six, over the namespace's sandbox pods
    assert "labelSelector=" in query and "fieldSelector" not in query and "allowWatchBookmarks=true" in query
    assert fake.count("GET", r"/pods$") == 2  # that watch and the list before it


def test_a_dropped_watch_resumes_from_the_bookmark_it_was_given(runner, fake):
    sink = RecordingSink()
    waiter = _wait_in_thread(runner.start(spec(SLOW), sink))
    sink.wait_for(Stream.STDOUT, "begun", timeout=30)
    # A change the watch does not select: only a bookmark tells it how far the namespace got.
    with fake.changed:
        fake._record("ADDED", {"metadata": {"name": "other", "labels": {"app": "other"}}, "spec": {}, "status": {}})
        bookmarked = fake.events[-1][0]
    wait_until(lambda: runner.informer.version == str(bookmarked), timeout=10, message="a bookmark")
    fake.drop_watches()
    result = waiter.result(timeout=60)
    assert result.succeeded and sink.text(Stream.STDOUT) == "begun\ndone\n"
    resumed = watch_queries(fake)[1]
    assert (
        f"resourceVersion={bookmarked}" in resumed
        or int(resumed.split("resourceVersion=")[1].split("&")[0]) >= bookmarked
    )
    assert runner.informer.lists == 1  # resumed, not listed again


def test_an_expired_history_makes_the_watch_list_again_and_no_run_is_lost(runner, fake):
    sink = RecordingSink()
    waiter = _wait_in_thread(runner.start(spec(SLOW), sink))
    sink.wait_for(Stream.STDOUT, "begun", timeout=30)
    fake.expire_watch_history()
    fake.drop_watches()
    wait_until(lambda: runner.informer.lists == 2, timeout=10, message="a second list after 410 Gone")
    result = waiter.result(timeout=60)
    assert result.succeeded and sink.text(Stream.STDOUT) == "begun\ndone\n"


def test_failed_watch_requests_are_retried(runner, fake):
    fake.faults.append(Fault("GET", r"/pods$", status=500, times=3))
    result, _ = run(runner, "print('watched')")
    assert result.succeeded


def test_a_pod_deleted_while_no_watch_was_there_is_seen_gone_after_the_next_list(runner, fake):
    fake.behaviour = Run(start_delay=30)  # never running: the run waits for its pod to start
    sandbox = runner.start(spec("print(1)"), RecordingSink())
    waiter = _wait_in_thread(sandbox)
    wait_until(lambda: runner.informer.watches, timeout=10, message="the watch")
    name = sandbox.plan.name
    fake.expire_watch_history()
    fake.drop_watches()
    fake.delete_pod(name)  # its DELETED event is in the expired history: only the list tells
    result = waiter.result(timeout=60)
    assert (result.error_type, result.message) == (ErrorType.SYSTEM_ERROR, status.POD_VANISHED)
