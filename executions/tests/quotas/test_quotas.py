"""Quotas on submissions: per minute, at once, and CPU-seconds per day; per IP address for
anonymous callers, per user for signed-in ones, with per-user overrides."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.tests.helpers import bearer, obtain_tokens
from executions import engine, quotas, services
from executions.caller import Caller
from executions.documents import Execution, Status
from executions.tests.quotas.conftest import quotas as make_quotas

pytestmark = [
    pytest.mark.django_db(transaction=True),  # submissions read the ORM from worker threads
    pytest.mark.usefixtures("empty_store"),
]

RATE_HEADERS = ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def submit(client=None, *, ip="203.0.113.7", headers=None, **body):
    client = client or Client()
    payload = json.dumps({"script": "print(1)", **body})
    return client.post(
        "/api/v1/executions", data=payload, content_type="application/json", REMOTE_ADDR=ip, headers=headers or {}
    )


def finish(execution_id: str, *, cpu_ms: int = 10) -> None:
    Execution.objects(execution_id=execution_id).update(set__status=Status.COMPLETED, set__cpu_ms=cpu_ms)


def test_an_anonymous_caller_over_the_rate_gets_a_429_with_rate_limit_headers(settings):
    settings.QUOTAS = make_quotas(anonymous=(2, 0, 0))
    submit(), submit()

    refused = submit()

    assert refused.status_code == 429
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 60
    assert refused.json() == {"detail": quotas.RATE_EXCEEDED.format(limit=2, retry_after=retry_after)}
    assert (refused["X-RateLimit-Limit"], refused["X-RateLimit-Remaining"]) == ("2", "0")
    assert refused["X-RateLimit-Resource"] == "submissions"
    assert Execution.objects.count() == 2


def test_each_address_has_its_own_allowance(settings):
    settings.QUOTAS = make_quotas(anonymous=(1, 0, 0))
    submit(ip="203.0.113.7")

    assert submit(ip="203.0.113.8").status_code == 201
    assert submit(ip="203.0.113.7").status_code == 429


def test_one_ipv6_slash_64_counts_as_one_address():
    first = quotas.subject_for(owner_id=None, client_ip="2001:db8:1:2::1")
    same_net = quotas.subject_for(owner_id=None, client_ip="2001:db8:1:2:ffff::9")
    other_net = quotas.subject_for(owner_id=None, client_ip="2001:db8:1:3::1")

    assert first == same_net != other_net


def test_a_signed_in_user_is_counted_apart_from_their_address(settings, owner):
    settings.QUOTAS = make_quotas(anonymous=(1, 0, 0), user=(3, 0, 0))
    token = bearer(obtain_tokens(Client(), owner)["access_token"])
    submit()

    statuses = [submit(headers=token).status_code for _ in range(4)]

    assert statuses == [201, 201, 201, 429]


def test_an_admin_can_raise_or_lower_one_users_quota(settings, owner, other):
    settings.QUOTAS = make_quotas(user=(1, 0, 0))
    owner.profile.submissions_per_minute = 3
    owner.profile.save()
    other.profile.submissions_per_minute = 0  # no limit
    other.profile.save()

    owners = [
        services.execution_submit(script="pass", caller=Caller(owner_id=owner.pk, address="1.2.3.4")) for _ in range(3)
    ]
    others = [
        services.execution_submit(script="pass", caller=Caller(owner_id=other.pk, address="1.2.3.4")) for _ in range(5)
    ]
    with pytest.raises(quotas.QuotaExceeded):
        services.execution_submit(script="pass", caller=Caller(owner_id=owner.pk, address="1.2.3.4"))

    assert len(owners) == 3 and len(others) == 5


def test_too_many_at_once_is_refused_until_one_finishes(settings):
    settings.QUOTAS = make_quotas(anonymous=(0, 2, 0))
    first = submit(limits={"wall_seconds": 3}).json()["execution_id"]
    submit()

    refused = submit()
    finish(first)
    accepted = submit()

    assert refused.status_code == 429 and refused["X-RateLimit-Resource"] == "concurrency"
    assert refused["Retry-After"] == "3"  # the shortest wall limit among those in flight
    assert refused.json() == {"detail": quotas.CONCURRENCY_EXCEEDED.format(limit=2)}
    assert accepted.status_code == 201


def test_the_days_cpu_time_is_charged_as_executions_finish(settings):
    settings.QUOTAS = make_quotas(anonymous=(0, 0, 2))
    finish(submit().json()["execution_id"], cpu_ms=1500)
    finish(submit().json()["execution_id"], cpu_ms=600)

    refused = submit()

    assert refused.status_code == 429 and refused["X-RateLimit-Resource"] == "cpu"
    assert 1 <= int(refused["Retry-After"]) <= 24 * 3600
    assert refused.json()["detail"] == quotas.CPU_EXCEEDED.format(limit=2, retry_after=refused["Retry-After"])


def test_cpu_time_of_an_execution_this_process_finished_is_charged_without_reading_it_back(settings, monkeypatch):
    settings.QUOTAS = make_quotas(anonymous=(0, 0, 2))
    execution_id = submit().json()["execution_id"]
    # As this process's engine tells of a run it finished (the store would still say queued).
    monkeypatch.setattr(engine, "cpu_ms_of_finished", lambda ids: {i: 2500 for i in ids if i == execution_id})

    refused = submit()

    assert refused.status_code == 429 and refused["X-RateLimit-Resource"] == "cpu"


def test_executions_this_processs_dispatcher_holds_count_as_in_flight_without_being_read_back(settings, monkeypatch):
    settings.QUOTAS = make_quotas(anonymous=(0, 1, 0))
    held = set()  # what this process's engine says it holds, in its backlog or running
    monkeypatch.setattr(engine, "pending_here", lambda ids: {i for i in ids if i in held})
    first = submit().json()["execution_id"]
    held.add(first)
    finish(first)  # as the store might say of it: not read while the dispatcher holds it

    refused = submit()
    held.clear()  # it is out of the dispatcher's hands: now the store decides
    accepted = submit()

    assert refused.status_code == 429 and refused["X-RateLimit-Resource"] == "concurrency"
    assert accepted.status_code == 201


def test_what_this_process_cannot_tell_is_read_back_once_a_second_unless_the_verdict_depends_on_it(
    settings, monkeypatch
):
    settings.QUOTAS = make_quotas(anonymous=(0, 5, 0))
    subject = quotas.subject_for(owner_id=None, client_ip="203.0.113.7")
    in_flight = lambda: cache.get(quotas._in_flight_key(subject))  # noqa: E731
    first = submit().json()["execution_id"]  # no dispatcher here: they wait in the store
    finish(first)  # by another process, as far as this one knows
    second = submit().json()["execution_id"]  # never read before: read now
    finish(second)

    third = submit().json()["execution_id"]  # read less than a second ago, and 2 of 5 cannot refuse
    assert in_flight() == [second, third]
    monkeypatch.setattr(quotas, "SETTLE_INTERVAL_SECONDS", 0)
    fourth = submit().json()["execution_id"]

    assert in_flight() == [third, fourth]


def test_a_refused_or_repeated_submission_uses_no_allowance(settings):
    settings.QUOTAS = make_quotas(anonymous=(1, 0, 0))
    submit(script="")  # invalid: 422
    first = submit(headers={"Idempotency-Key": "k1"})
    again = submit(headers={"Idempotency-Key": "k1"})

    assert (first.status_code, again.status_code) == (201, 200)


def test_submissions_without_a_client_address_are_not_metered(settings):
    settings.QUOTAS = make_quotas(anonymous=(1, 1, 1))

    created = [services.execution_submit(caller=Caller.internal(), script="pass")[1] for _ in range(3)]

    assert created == [True, True, True]


def test_anonymous_callers_get_lower_caps_than_signed_in_users(settings, owner):
    anonymous_cap = settings.ANONYMOUS_EXECUTION_LIMITS["memory_mb"]
    settings.EXECUTION_LIMITS = {**settings.EXECUTION_LIMITS, "memory_mb": anonymous_cap * 2}
    token = bearer(obtain_tokens(Client(), owner)["access_token"])

    anonymous = submit(limits={"memory_mb": anonymous_cap + 1})
    signed_in = submit(headers=token, limits={"memory_mb": anonymous_cap + 1})

    assert anonymous.status_code == 422 and signed_in.status_code == 201
    assert submit().json()["limits"]["memory_mb"] == anonymous_cap
    # What /runtimes tells each of them.
    assert Client().get("/api/v1/runtimes").json()["limits"]["memory_mb"] == anonymous_cap
    assert Client().get("/api/v1/runtimes", headers=token).json()["limits"]["memory_mb"] == anonymous_cap * 2


def test_running_a_script_page_over_quota_is_a_429_page(settings, owner, make_script):
    settings.QUOTAS = make_quotas(anonymous=(1, 0, 0))
    script = make_script(owner, visibility="public")
    Client().post(f"/scripts/{script.key}/run/", REMOTE_ADDR="198.51.100.1")

    refused = Client().post(f"/scripts/{script.key}/run/", REMOTE_ADDR="198.51.100.1")

    assert refused.status_code == 429 and all(refused.has_header(h) for h in RATE_HEADERS)
    assert "Too many submissions" in refused.content.decode()


def test_the_counters_live_in_redis_when_it_is_the_cache(settings, redis_url):
    import redis

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    settings.QUOTAS = make_quotas(anonymous=(2, 0, 0))
    from django.core.cache import cache

    cache.clear()
    submit(ip="192.0.2.50"), submit(ip="192.0.2.50")

    refused = submit(ip="192.0.2.50")

    assert refused.status_code == 429
    keys = redis.Redis.from_url(redis_url).keys("*quota:rate:ip:192.0.2.50:*")
    assert len(keys) == 1
    cache.clear()


def test_refusals_are_counted_in_the_metrics_by_scope_and_limit(settings):
    from executions import metrics

    settings.QUOTAS = make_quotas(anonymous=(1, 0, 0))
    counter = metrics.rate_limit_refusals.labels("anonymous", "submissions")
    before = counter._value.get()
    submit(ip="203.0.113.99")

    assert submit(ip="203.0.113.99").status_code == 429
    assert counter._value.get() == before + 1


def test_interactive_sessions_are_counted_apart_from_other_runs(settings):
    settings.QUOTAS = make_quotas(anonymous=(0, 3, 0))
    settings.QUOTAS["anonymous"]["interactive_sessions"] = 1
    first = submit(interactive=True).json()["execution_id"]
    batch = submit()  # not interactive: only the concurrency quota counts it

    refused = submit(interactive=True)
    finish(first)
    accepted = submit(interactive=True)

    assert batch.status_code == 201
    assert refused.status_code == 429 and refused["X-RateLimit-Resource"] == "interactive"
    assert refused.json() == {"detail": quotas.INTERACTIVE_EXCEEDED.format(limit=1)}
    assert accepted.status_code == 201


def test_the_servers_total_of_interactive_sessions_holds_for_everyone(settings):
    settings.INTERACTIVE_SESSIONS_MAX = 2
    submit(interactive=True, ip="203.0.113.1")
    submit(interactive=True, ip="203.0.113.2")

    refused = submit(interactive=True, ip="203.0.113.3")
    batch = submit(ip="203.0.113.3")

    assert refused.status_code == 429 and refused["X-RateLimit-Resource"] == "interactive_total"
    assert refused.json() == {"detail": quotas.INTERACTIVE_FULL.format(limit=2)}
    assert batch.status_code == 201


def test_no_interactive_sessions_at_all_when_the_total_is_zero(settings):
    settings.INTERACTIVE_SESSIONS_MAX = 0
    refused = submit(interactive=True)
    listed = Client().get("/api/v1/runtimes", REMOTE_ADDR="203.0.113.7").json()["runtimes"]

    assert refused.status_code == 422 and "cannot run interactively" in refused.json()["detail"]
    assert not any(runtime["interactive"] for runtime in listed)


def test_interactive_runs_get_their_own_wall_cap_lower_for_anonymous_callers(settings, owner):
    anonymous = Client().get("/api/v1/runtimes", REMOTE_ADDR="203.0.113.7").json()["runtimes"][0]
    over = submit(interactive=True, limits={"wall_seconds": 121})
    at_cap = submit(interactive=True, limits={"wall_seconds": 120}).json()

    assert anonymous["interactive"] and anonymous["interactive_wall_seconds"] == 120.0
    assert anonymous["limits"]["wall_seconds"] == 5.0  # a batch run's cap is unchanged
    assert over.status_code == 422 and "above the cap of 120.0" in over.json()["detail"]
    assert at_cap["limits"]["wall_seconds"] == 120.0


def test_the_servers_total_holds_when_many_callers_submit_at_once(settings):
    """Six callers at the same moment, one session allowed: one is admitted, five are refused."""
    settings.INTERACTIVE_SESSIONS_MAX = 1
    start = threading.Barrier(6)

    def one(number: int):
        start.wait()
        return submit(interactive=True, ip=f"203.0.113.{number + 10}").status_code

    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(one, range(6)))
    assert codes == [201, 429, 429, 429, 429, 429]
