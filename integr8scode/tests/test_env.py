import pytest

from integr8scode import env
from integr8scode.env import ConfigError


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("off", False), ("", False)])
def test_booleans_accept_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)

    assert env.env_bool("FLAG", True) is expected


def test_a_bad_boolean_names_the_variable(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")

    with pytest.raises(ConfigError, match="DEBUG='maybe' is not a boolean"):
        env.env_bool("DEBUG")


def test_a_bad_integer_names_the_variable(monkeypatch):
    monkeypatch.setenv("LIMIT_MEMORY_MB", "lots")

    with pytest.raises(ConfigError, match="LIMIT_MEMORY_MB='lots' is not an integer"):
        env.env_int("LIMIT_MEMORY_MB", 128)


def test_integers_below_their_minimum_are_refused(monkeypatch):
    monkeypatch.setenv("EXECUTOR_CONCURRENCY", "0")

    with pytest.raises(ConfigError, match="EXECUTOR_CONCURRENCY=0 must be at least 1"):
        env.env_int("EXECUTOR_CONCURRENCY", 2, minimum=1)


def test_secrets_are_read_from_a_file_named_by_name_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))

    assert env.env_secret("SECRET_KEY") == "s3cret"


def test_an_unreadable_secret_file_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "missing"))

    with pytest.raises(ConfigError, match="SECRET_KEY_FILE="):
        env.env_secret("SECRET_KEY")
