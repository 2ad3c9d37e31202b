"""What a load test runs with: its size from ``LOADTEST_*`` variables, the quotas an operator
would set for it, and the one kind of target it accepts (loopback)."""

import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from integr8scode.env import ConfigError, env_float, env_int, env_list, env_str

NOT_LOOPBACK = "LOADTEST_URL={url!r} is not a loopback address: load tests run against this machine only"

# Every test user comes from 127.0.0.1, so the per-address quotas and sign-in limits are raised
# as an operator would for a loopback test (allauth counts sign-ins in progress as failed ones
# until they succeed); per-user quotas keep their defaults, each test account being one person.
# A variable already set in the environment wins.
TEST_QUOTAS = {
    "QUOTA_ANON_SUBMISSIONS_PER_MINUTE": "6000",
    "QUOTA_ANON_CONCURRENT_EXECUTIONS": "200",
    "QUOTA_ANON_CPU_SECONDS_PER_DAY": "100000",
    "ACCOUNT_RATE_LIMIT_LOGIN": "1000/m/ip",
    "ACCOUNT_RATE_LIMIT_LOGIN_FAILED": "1000/m/ip,5/300s/key",
}


@dataclass(frozen=True)
class LoadTest:
    users: int
    spawn_rate: float
    run_time: str
    settle_seconds: float
    accounts: int
    url: str  # empty: start a server of our own
    user_classes: list[str]  # empty: all of them, by their weights


def load_test_from_env() -> LoadTest:
    users = env_int("LOADTEST_USERS", 20, minimum=1)
    url = env_str("LOADTEST_URL").rstrip("/")
    if url:
        loopback_only(url)
    return LoadTest(
        users=users,
        spawn_rate=env_float("LOADTEST_SPAWN_RATE", 5.0, minimum=0.1),
        run_time=env_str("LOADTEST_RUN_TIME", "60s"),
        settle_seconds=env_float("LOADTEST_SETTLE_SECONDS", 60.0, minimum=1.0),
        accounts=env_int("LOADTEST_ACCOUNTS", max(2, users // 2), minimum=1),
        url=url,
        user_classes=env_list("LOADTEST_USER_CLASSES"),
    )


def quota_env() -> dict[str, str]:
    return {name: os.environ.get(name, value) for name, value in TEST_QUOTAS.items()}


def loopback_only(url: str) -> None:
    """Refuse a target whose host is, or resolves to, anything but a loopback address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"LOADTEST_URL={url!r} must be an http:// URL")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 80)}
    except socket.gaierror:
        raise ConfigError(NOT_LOOPBACK.format(url=url)) from None
    if not all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses):
        raise ConfigError(NOT_LOOPBACK.format(url=url))
