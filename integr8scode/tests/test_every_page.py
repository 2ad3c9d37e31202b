"""Every page the site links to, and every page the README names, answers: signed out, signed
in, and as an administrator. A page that cannot render (a template tag library missing, a field
gone) fails here before a user finds it, and a link or a README path that leads nowhere too."""

import re
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings
from django.test import Client

from executions.documents import Status
from executions.tests.factories import make_execution

README = Path(settings.BASE_DIR) / "README.md"
HREF = re.compile(r'href="([^"#]*)"')
README_PATH = re.compile(r"`(/[a-z][a-z0-9/_.-]*)`")
# Not pages: the API and sockets (their own tests), static files, signing out, host paths the
# README names when it describes the sandbox.
NOT_PAGES = ("/api/v1", "/ws/", "/static/", "/accounts/logout/", "/admin/logout/")
SANDBOX_PATHS = ("/dev", "/etc/", "/opt/", "/proc", "/root", "/sandbox", "/sys", "/tmp", "/usr", "/var/lib/", "/work")
MOST_PAGES = 400


def readme_paths() -> list[str]:
    paths = sorted(set(README_PATH.findall(README.read_text())))
    return [path for path in paths if not path.startswith(NOT_PAGES) and not path.startswith(SANDBOX_PATHS)]


def crawl(client: Client, seeds: list[str], *, queries: bool = True) -> dict[str, int]:
    """Status of every page reached from ``seeds`` by links and redirects within the site
    (without ``queries``: links that differ only in their query string are one page)."""
    seen: dict[str, int] = {}
    queue = deque(seeds)
    while queue and len(seen) < MOST_PAGES:
        path = queue.popleft()
        if path in seen:
            continue
        response = client.get(path)
        seen[path] = response.status_code
        targets = []
        if response.status_code in (301, 302, 303, 307, 308):
            targets.append(response["Location"])
        elif "text/html" in response.get("Content-Type", ""):
            targets += HREF.findall(response.content.decode())
        for target in targets:
            link = urlsplit(urljoin(path, target.replace("&amp;", "&")))
            if link.scheme not in ("", "http") or link.netloc not in ("", "testserver"):
                continue  # another site
            local = link.path + (f"?{link.query}" if link.query and queries else "")
            if not link.path.startswith(NOT_PAGES) and local not in seen:
                queue.append(local)
    assert len(seen) < MOST_PAGES, "the crawl did not end: a link that makes links?"
    return seen


@pytest.fixture
def content(owner, other, make_script, empty_store):
    """Something on every kind of page: executions of each end, saved scripts of each visibility."""
    for status in (Status.COMPLETED, Status.FAILED, Status.QUEUED):
        make_execution(owner_id=owner.pk, status=status, output="hi\n")
    make_execution(status=Status.COMPLETED, output="anonymous\n")
    for visibility in ("private", "unlisted", "public"):
        make_script(owner, title=f"{visibility} one", visibility=visibility)
    make_script(other, title="someone else's", visibility="public")


def assert_all_answer(seen: dict[str, int], seeds: list[str]) -> None:
    broken = {path: status for path, status in seen.items() if status >= 500 or status == 404}
    assert not broken, broken
    assert all(path in seen for path in seeds)


def test_every_page_answers_signed_out(client, content):
    seeds = ["/", *readme_paths()]
    seen = crawl(client, seeds)
    assert_all_answer(seen, seeds)
    assert {"/", "/accounts/login/", "/accounts/signup/", "/history/", "/api/docs"} <= set(seen)


def test_every_page_answers_signed_in(client, owner, content):
    client.force_login(owner)
    seeds = ["/", *readme_paths()]
    seen = crawl(client, seeds)
    assert_all_answer(seen, seeds)
    assert {"/accounts/sessions/", "/accounts/api/", "/accounts/email/"} <= set(seen)
    assert any(path.startswith("/executions/") and path != "/executions/" for path in seen)
    assert any(path.startswith("/scripts/") for path in seen)


def test_every_admin_page_answers(client, admin_user, content):
    client.force_login(admin_user)
    seen = crawl(client, ["/admin/", "/admin/overview/"], queries=False)  # not every filter and sort
    assert_all_answer(seen, ["/admin/"])
    assert sum(path.startswith("/admin/") for path in seen) > 10
