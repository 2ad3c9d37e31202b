import pytest

from bench.loadtest.config import load_test_from_env, loopback_only
from integr8scode.env import ConfigError


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"])
def test_loopback_targets_are_accepted(url):
    assert loopback_only(url) is None  # it raises for anything else


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000", "http://192.0.2.7", "https://example.com", "ftp://localhost"])
def test_other_targets_are_refused(url):
    with pytest.raises(ConfigError):
        loopback_only(url)


def test_the_size_of_a_run_comes_from_the_environment(monkeypatch):
    for name in ("LOADTEST_URL", "LOADTEST_ACCOUNTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOADTEST_USERS", "8")
    monkeypatch.setenv("LOADTEST_RUN_TIME", "2m")

    config = load_test_from_env()

    assert (config.users, config.run_time, config.accounts, config.url) == (8, "2m", 4, "")
