"""A signed-in user's history: the "My executions" page and ``GET /api/v1/executions``."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.helpers import bearer, obtain_tokens
from executions import selectors
from executions.documents import OWNER_HISTORY_INDEX, Status
from executions.tests.factories import make_execution
from executions.tests.store_reads import record_reads
from scripts.services import SIGN_IN_REQUIRED

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_store")]


@pytest.fixture
def as_owner(owner) -> dict:
    return bearer(obtain_tokens(Client(), owner)["access_token"])


def make_history(owner, count: int, **fields) -> list[str]:
    """``count`` executions of ``owner``, a minute apart, oldest first."""
    start = timezone.now() - timedelta(hours=1)
    return [
        make_execution(owner_id=owner.pk, created_at=start + timedelta(minutes=i), **fields).execution_id
        for i in range(count)
    ]


def test_the_history_lists_the_callers_executions_newest_first(as_owner, owner, other):
    ids = make_history(owner, 3)
    make_execution(owner_id=other.pk)
    make_execution()

    body = Client().get("/api/v1/executions", headers=as_owner).json()

    assert [item["execution_id"] for item in body["items"]] == ids[::-1]
    assert body["count"] == 3 and "output" not in body["items"][0]


def test_the_history_comes_in_pages(as_owner, owner):
    ids = make_history(owner, selectors.PAGE_SIZE + 5)

    second = Client().get("/api/v1/executions?page=2", headers=as_owner).json()

    assert (second["page"], second["pages"], second["count"]) == (2, 2, selectors.PAGE_SIZE + 5)
    assert [item["execution_id"] for item in second["items"]] == ids[:5][::-1]


def test_the_history_filters_by_status(as_owner, owner):
    make_history(owner, 2)
    failed = make_history(owner, 1, status=Status.FAILED, error_type="timeout")

    body = Client().get("/api/v1/executions?status=failed", headers=as_owner).json()

    assert [item["execution_id"] for item in body["items"]] == failed


def test_the_history_reads_only_the_callers_own_executions_from_the_store(as_owner, owner, other, monkeypatch):
    make_history(owner, 2, status=Status.FAILED, error_type="timeout")
    make_history(other, 3, status=Status.FAILED, error_type="timeout")
    reads = record_reads(monkeypatch)

    body = Client().get("/api/v1/executions?status=failed", headers=as_owner).json()

    assert body["count"] == 2
    history = [read for read in reads if "owner_id" in read.filter]
    assert history and {read.index() for read in history} == {OWNER_HISTORY_INDEX}


def test_an_unknown_status_is_a_422(as_owner):
    response = Client().get("/api/v1/executions?status=lost", headers=as_owner)

    assert response.status_code == 422
    assert response.json() == {"detail": selectors.UNKNOWN_STATUS.format(known=", ".join(Status.ALL))}


def test_anonymous_callers_have_no_history(owner):
    response = Client().get("/api/v1/executions")

    assert response.status_code == 401 and response.json() == {"detail": SIGN_IN_REQUIRED}


def test_the_history_page_lists_them_with_links(owner):
    ids = make_history(owner, 2)
    client = Client()
    client.force_login(owner)

    html = client.get("/history/").content.decode()

    assert html.index(ids[1]) < html.index(ids[0])
    assert f'href="/executions/{ids[0]}/"' in html


def test_the_history_page_asks_anonymous_visitors_to_sign_in():
    response = Client().get("/history/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_history_says_which_runs_made_files(owner):
    from bson import ObjectId

    from executions.documents import OutputFile

    made = [OutputFile(name=f"f{n}.png", size=1, content_type="image/png", file_id=ObjectId()) for n in range(2)]
    with_files = make_execution(owner_id=owner.pk, status=Status.COMPLETED, files=made).execution_id
    make_execution(owner_id=owner.pk, status=Status.COMPLETED)
    client = Client()
    client.force_login(owner)

    html = client.get("/history/").content.decode()
    api = Client().get("/api/v1/executions", headers=bearer(obtain_tokens(Client(), owner)["access_token"])).json()

    assert html.count(">2 files</span>") == 1 and 'title="The run made 2 files"' in html
    assert {item["execution_id"]: item["file_count"] for item in api["items"]}[with_files] == 2


def test_executions_leads_to_the_history_page(client):
    """Where people guess it is (the README once sent them there): a redirect, query kept."""
    response = client.get("/executions/?page=2")
    assert (response.status_code, response["Location"]) == (302, "/history/?page=2")


def test_a_cancelled_run_is_listed_as_cancelled(client, owner, empty_store):
    make_execution(owner_id=owner.pk, status=Status.FAILED, error_type="cancelled")
    client.force_login(owner)
    html = client.get("/history/").content.decode()
    assert '<span class="badge badge-cancelled">cancelled</span></td>' in html
