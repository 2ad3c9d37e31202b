"""Helpers for tests against the live Daphne server (``daphne_server`` in the root conftest)."""

import quopri
import re
import subprocess
import sys

from conftest import BASE_DIR, PASSWORD, wait_until

CREATE_USER = """
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
User = get_user_model()
user = User.objects.filter(username={username!r}).first()
if user is None:
    user = User.objects.create_user({username!r}, {email!r}, {password!r}, is_staff={superuser},
                                    is_superuser={superuser})
    EmailAddress.objects.update_or_create(user=user, email={email!r}, defaults={{"verified": True, "primary": True}})
print(user.pk)
"""


def live_user(server, username: str, *, superuser: bool = False) -> int:
    """Create (once) a user with a verified email and :data:`PASSWORD` in the live server's
    database; returns its id."""
    code = CREATE_USER.format(
        username=username, email=f"{username}@example.com", password=PASSWORD, superuser=superuser
    )
    done = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "shell", "-c", code],
        env=server.env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(done.stdout.strip().splitlines()[-1])


def live_tokens(http, username: str) -> dict:
    response = http.post("/_allauth/app/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["meta"]


def emailed_link(server, *, to: str, path: str, timeout: float = 15) -> str:
    """The link to ``path`` in the last email to ``to`` that the console backend printed to
    the server's output (quoted-printable, as the console backend prints it)."""

    def find():
        log = server.log.read_bytes()
        start = log.rfind(f"To: {to}".encode())
        text = quopri.decodestring(log[start:]).decode(errors="replace") if start >= 0 else ""
        match = re.search(rf"(http://\S+{re.escape(path)}\S+)", text)
        return match.group(1) if match else None

    return wait_until(find, timeout=timeout, interval=0.1, message=f"an email to {to} with a {path} link")
