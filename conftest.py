"""Fixtures shared by the whole suite."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from executions.documents import Execution, QueueEntry

BASE_DIR = Path(__file__).resolve().parent

# --- layers: the markers registered in pyproject.toml --------------------------------------

# A test is marked by what it uses, so that `-m "not slow"` (make test-fast) keeps the ones
# that need no sandbox, browser, live server or process of their own: a fixture among its own or
# its fixtures' (item.fixturenames is the closure), or the module of tests that start these
# themselves; the few others say so with the mark. Every test with one of these is also `slow`.
MARK_BY_FIXTURE = {"daphne_server": "live_server", "chromium": "browser", "dispatcher": "sandbox"}
MARK_BY_PATH = {
    "executions/tests/abuse/": "sandbox",
    "executions/tests/runners/test_local.py": "sandbox",
    "executions/tests/runners/test_local_templates.py": "sandbox",
    "executions/tests/runners/test_local_interactive.py": "sandbox",
    "executions/tests/runners/test_languages.py": "sandbox",
    "executions/tests/runners/test_local_gvisor.py": "sandbox",
    "executions/tests/runners/test_kubernetes_runner.py": "sandbox",  # its fake kubelet runs the entry
    "executions/tests/runners/test_kubernetes_cluster.py": "sandbox",  # a real cluster, with KUBECONFIG
    "executions/tests/engine/test_executor_command.py": "sandbox",  # executor processes
    "executions/tests/topology/": "live_server",
    "integr8scode/tests/test_startup.py": "subprocess",  # settings read by a process of its own
    "accounts/tests/test_settings.py": "subprocess",
}
LAYERS = ("sandbox", "browser", "live_server", "subprocess")


def pytest_collection_modifyitems(items):
    for item in items:
        layers = {mark for fixture, mark in MARK_BY_FIXTURE.items() if fixture in item.fixturenames}
        path = item.path.relative_to(BASE_DIR).as_posix()
        layers |= {mark for prefix, mark in MARK_BY_PATH.items() if path.startswith(prefix)}
        layers |= {mark.name for mark in item.iter_markers() if mark.name in LAYERS}
        for layer in sorted(layers):
            item.add_marker(layer)
        if layers:
            item.add_marker("slow")


@pytest.fixture(scope="session", autouse=True)
def _static_files_collected():
    """STATIC_ROOT (in the session's own VAR_DIR) filled once, as `make run` fills it, before any
    page renders or live server starts: templates name their assets through the strict manifest
    it writes, and live servers serve what is there. Without the gzip and brotli copies, which
    are most of collectstatic's time; pages/test_static_files.py checks those on a root of its own."""
    from django.core.management import call_command
    from django.test import override_settings

    with override_settings(SERVESTATIC_USE_GZIP=False, SERVESTATIC_USE_BROTLI=False):
        call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture
def empty_store():
    """No executions and no queue entries: for tests that count or list across the whole
    store, or run a dispatcher (which would claim whatever other tests left queued). The rest
    make their own records and find them by id, so they do not pay for the clearing."""
    Execution.objects.delete()
    QueueEntry.objects.delete()


# --- accounts: quotas off unless a test sets them; users and scripts -------------------

# Most tests submit far more than a visitor may; the quota tests set QUOTAS themselves.
QUOTAS_OFF = {
    kind: {"submissions_per_minute": 0, "concurrent_executions": 0, "cpu_seconds_per_day": 0, "interactive_sessions": 0}
    for kind in ("anonymous", "user")
}
QUOTAS_OFF_ENV = {f"QUOTA_{prefix}_{name.upper()}": "0" for prefix in ("ANON", "USER") for name in QUOTAS_OFF["user"]}
# Live servers give anonymous runs the full wall cap (10 s), not the visitors' 5 s: a browser
# test that cancels a long run must still find it running on a loaded machine.
# Every live test signs in from 127.0.0.1, and a session's worth of them can pass allauth's
# per-address sign-in rate within one minute: the rate-limit tests use a test client instead.
LIVE_SERVER_ENV = {
    **QUOTAS_OFF_ENV,
    "QUOTA_ANON_LIMIT_WALL_SECONDS": "10",
    "ACCOUNT_RATE_LIMIT_LOGIN": "10000/m/ip",
    "ACCOUNT_RATE_LIMIT_SIGNUP": "10000/m/ip",
}
PASSWORD = "correct horse battery staple 42"


@pytest.fixture(autouse=True)
def _quotas_off_and_fresh_cache(settings):
    from django.core.cache import cache

    settings.QUOTAS = QUOTAS_OFF
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
    cache.clear()  # quota counters and allauth's rate limits
    yield


@pytest.fixture
def make_user(db):
    """``make_user("name", staff=False, superuser=False)``: a user with a verified email
    and the password :data:`PASSWORD`."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    def make(username: str, *, staff: bool = False, superuser: bool = False, **fields):
        email = fields.pop("email", f"{username}@example.com")
        user = get_user_model().objects.create_user(
            username, email, PASSWORD, is_staff=staff or superuser, is_superuser=superuser, **fields
        )
        EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
        return user

    return make


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def other(make_user):
    return make_user("other")


@pytest.fixture
def admin_user(make_user):
    """A superuser (staff, so the access rule lets them see everything)."""
    return make_user("admin", superuser=True)


@pytest.fixture
def moderator(make_user):
    """Staff in the moderators' group, with nothing beyond its permissions."""
    from accounts.services import moderators_group_ensure

    user = make_user("moderator", staff=True)
    user.groups.add(moderators_group_ensure())
    return user


@pytest.fixture
def make_script(db):
    """``make_script(owner, title=..., source=..., visibility=...)``: a saved script."""
    from scripts.models import Script

    def make(owner, **fields):
        defaults = {"title": "Hello", "source": "print('hello')", "runtime": "python3.13"}
        return Script.objects.create(owner=owner, **{**defaults, **fields})

    return make


@pytest.fixture
def dispatcher(empty_store):
    """The in-process dispatcher with the configured (real) runner, over an empty queue."""
    from executions import engine as module

    yield module.start(concurrency=2)
    module.stop(grace=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.02, message: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


class LiveServer:
    """A real Daphne process serving the project, sharing this session's embedded MongoDB."""

    def __init__(self, tmp: Path, env: dict | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Its own MongoDB database: the server's embedded dispatcher must not claim executions
        # that tests in this process queue for their own dispatchers.
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "MONGODB_DB": f"integr8scode_live_{self.port}",
            **LIVE_SERVER_ENV,
            **(env or {}),
        }
        self.log = tmp / "daphne.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "LiveServer":
        manage = [sys.executable, str(BASE_DIR / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=self.env, check=True, cwd=BASE_DIR)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "integr8scode.serve",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "integr8scode.asgi:application",
                ],
                env=self.env,
                cwd=BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._ready, timeout=30, message=f"daphne on port {self.port} (log: {self.log})")
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"daphne exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/api/v1/runtimes", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def daphne_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("live")).start()
    yield server
    server.stop()


@pytest.fixture
def http(daphne_server):
    with httpx.Client(base_url=daphne_server.url, timeout=30) as client:
        yield client
