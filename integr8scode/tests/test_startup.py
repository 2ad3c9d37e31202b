"""Start-up as an operator sees it: real processes, real environment variables."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def django_python(code: str, *, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    prelude = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'integr8scode.settings'); django.setup()\n"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "VAR_DIR", "MONGODB_URL", "MONGODB_DB")}
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        env={**clean, **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_bad_setting_stops_start_up_naming_the_variable(tmp_path):
    done = django_python("", env={"VAR_DIR": str(tmp_path), "LIMIT_WALL_SECONDS": "ten"})

    assert done.returncode != 0
    assert "LIMIT_WALL_SECONDS='ten' is not a number" in done.stderr


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    done = django_python("", env={"VAR_DIR": str(tmp_path), "MONGODB_URL": "mongodb://127.0.0.1:1/x"})

    assert done.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set" in done.stderr


def test_embedded_mode_makes_its_keys_once_where_it_serves_and_every_process_reads_them(tmp_path):
    from integr8scode import keys

    code = "from django.conf import settings; print(settings.SECRET_KEY); print(settings.HEADLESS_JWT_PRIVATE_KEY)"
    keys.ensure(tmp_path)  # as integr8scode.serve does before Django starts
    made = {path.name: path.read_text() for path in tmp_path.iterdir()}
    keys.ensure(tmp_path)  # and again: nothing changes
    first = django_python(code, env={"VAR_DIR": str(tmp_path)})
    second = django_python(code, env={"VAR_DIR": str(tmp_path)})

    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout and len(first.stdout.split()[0]) >= 50
    assert {path.name: path.read_text() for path in tmp_path.iterdir()} == made
    assert all(path.stat().st_mode & 0o077 == 0 for path in tmp_path.iterdir())


def test_manage_py_check_on_an_empty_var_dir_creates_nothing(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "MONGODB_URL")},
            "VAR_DIR": str(tmp_path / "var"),
        },
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "var").exists()


def test_migrate_on_a_fresh_checkout_makes_the_var_dir_and_the_database(tmp_path):
    # What `make run` does first on a fresh clone, where var/ does not exist yet.
    var_dir = tmp_path / "fresh" / "var"
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "MONGODB_URL", "DATABASE_URL")},
            "VAR_DIR": str(var_dir),
        },
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert (var_dir / "db.sqlite3").stat().st_size > 0


def test_debug_is_off_unless_asked(tmp_path):
    done = django_python("from django.conf import settings; print(settings.DEBUG)", env={"VAR_DIR": str(tmp_path)})

    assert done.stdout.strip() == "False"


def test_embedded_mongodb_data_survives_a_restart(tmp_path):
    write = "from executions.tests.factories import make_execution; print(make_execution().execution_id)"
    written = django_python(write, env={"VAR_DIR": str(tmp_path)})
    assert written.returncode == 0, written.stderr
    execution_id = written.stdout.strip()

    stored = f"Execution.objects.get(execution_id={execution_id!r})"
    read = f"from executions.documents import Execution; print({stored}.script)"
    again = django_python(read, env={"VAR_DIR": str(tmp_path)})

    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "print('hi')"


def test_a_second_process_uses_the_owners_embedded_server_instead_of_opening_the_file(tmp_path):
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import django, os, sys; os.environ['DJANGO_SETTINGS_MODULE']='integr8scode.settings'; "
            "django.setup(); from integr8scode import mongo; mongo.connect(); print(mongo._connected_url, flush=True); "
            "sys.stdin.read()",
        ],
        env={**os.environ, "VAR_DIR": str(tmp_path)},
        cwd=BASE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        owner_url = owner.stdout.readline().strip()
        guest = django_python(
            "from integr8scode import mongo; mongo.connect(); "
            "print(mongo._connected_url, mongo._embedded.process is None)",
            env={"VAR_DIR": str(tmp_path)},
        )
    finally:
        owner.communicate("", timeout=30)

    assert guest.returncode == 0, guest.stderr
    assert guest.stdout.split() == [owner_url, "True"]


def test_an_anonymous_memory_cap_too_small_for_the_interpreter_stops_start_up(tmp_path):
    done = django_python("", env={"VAR_DIR": str(tmp_path), "QUOTA_ANON_LIMIT_MEMORY_MB": "8"})

    assert done.returncode != 0
    assert "QUOTA_ANON_LIMIT_MEMORY_MB" in done.stderr


def test_local_isolation_picks_the_local_runners_level_and_refuses_an_unknown_one(tmp_path):
    code = "from executions.runners.base import get_runner; print(get_runner().isolation_of('any'))"
    chosen = django_python(code, env={"VAR_DIR": str(tmp_path), "LOCAL_ISOLATION": "gvisor"})
    unknown = django_python("", env={"VAR_DIR": str(tmp_path), "LOCAL_ISOLATION": "chroot"})

    assert chosen.stdout.strip().splitlines()[-1] == "gvisor", chosen.stderr
    assert unknown.returncode != 0
    assert "LOCAL_ISOLATION='chroot' must be bubblewrap or gvisor" in unknown.stderr
