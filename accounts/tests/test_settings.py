"""Account settings as an operator meets them: real processes, real environment variables."""

import subprocess
import sys

from conftest import BASE_DIR

PRELUDE = (
    "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'integr8scode.settings'); django.setup()\n"
)
PRINT_KEY = "from django.conf import settings; print(settings.HEADLESS_JWT_PRIVATE_KEY)"
STRIPPED = (
    "SECRET_KEY",
    "VAR_DIR",
    "MONGODB_URL",
    "MONGODB_DB",
    "HEADLESS_JWT_PRIVATE_KEY",
    "HEADLESS_JWT_PRIVATE_KEY_FILE",
    "EMAIL_HOST",
)


def django_python(code: str, *, env: dict) -> subprocess.CompletedProcess:
    import os

    clean = {k: v for k, v in os.environ.items() if k not in STRIPPED}
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + code],
        env={**clean, **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_mode_signs_with_the_key_its_serving_process_made_and_keeps_it_private(tmp_path):
    from integr8scode import keys

    keys.ensure(tmp_path)  # as integr8scode.serve does before Django starts
    first = django_python(PRINT_KEY, env={"VAR_DIR": str(tmp_path)})
    second = django_python(PRINT_KEY, env={"VAR_DIR": str(tmp_path)})

    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout == (tmp_path / "jwt_private_key.pem").read_text() + "\n"
    assert "BEGIN PRIVATE KEY" in first.stdout
    assert (tmp_path / "jwt_private_key.pem").stat().st_mode & 0o077 == 0


def test_production_without_a_jwt_signing_key_refuses_to_start(tmp_path):
    env = {"VAR_DIR": str(tmp_path), "MONGODB_URL": "mongodb://127.0.0.1:1/x", "SECRET_KEY": "s" * 50}
    done = django_python("", env=env)

    assert done.returncode != 0
    assert "HEADLESS_JWT_PRIVATE_KEY (or HEADLESS_JWT_PRIVATE_KEY_FILE) must be set" in done.stderr


def test_the_jwt_signing_key_can_come_from_a_file_as_a_kubernetes_secret(tmp_path):
    made = django_python(PRINT_KEY, env={"VAR_DIR": str(tmp_path / "a")})
    key_file = tmp_path / "jwt.pem"
    key_file.write_text(made.stdout)

    done = django_python(
        PRINT_KEY, env={"VAR_DIR": str(tmp_path / "b"), "HEADLESS_JWT_PRIVATE_KEY_FILE": str(key_file)}
    )

    assert done.stdout.strip() == made.stdout.strip()
    assert not (tmp_path / "b" / "jwt_private_key.pem").exists()


def test_email_goes_to_the_console_unless_an_smtp_host_is_set(tmp_path):
    code = "from django.conf import settings; print(settings.MAILERS['default']['BACKEND'])"
    console = django_python(code, env={"VAR_DIR": str(tmp_path)})
    smtp = django_python(code, env={"VAR_DIR": str(tmp_path), "EMAIL_HOST": "smtp.example.com"})

    assert console.stdout.strip() == "accounts.console_email.ReadableEmailBackend"
    assert smtp.stdout.strip() == "django.core.mail.backends.smtp.EmailBackend"


def test_an_anonymous_cap_above_everyones_cap_stops_start_up(tmp_path):
    done = django_python("", env={"VAR_DIR": str(tmp_path), "QUOTA_ANON_LIMIT_MEMORY_MB": "4096"})

    assert done.returncode != 0
    assert "QUOTA_ANON_LIMIT_MEMORY_MB=4096 must not exceed LIMIT_MEMORY_MB=128" in done.stderr
