"""Executions from MongoDB in the Django admin: list with filters, detail, cancel, delete."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from executions.documents import Execution, Status
from executions.tests.factories import make_execution, make_running

pytestmark = pytest.mark.django_db

LIST = "/admin/executions/executionrecord/"


def listed(client, query: str = "") -> str:
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_executions_appear_on_the_admin_index_for_moderators(moderator_client):
    html = moderator_client.get("/admin/").content.decode()

    assert f'href="{LIST}"' in html


def test_the_list_filters_by_status_user_and_date(moderator_client, owner, other):
    mine = make_execution(owner_id=owner.pk, status=Status.COMPLETED)
    theirs = make_execution(owner_id=other.pk)
    anonymous = make_execution()
    old = make_execution(owner_id=owner.pk, created_at=timezone.now() - timedelta(days=10))
    today = timezone.now().date().isoformat()

    assert all(e.execution_id in listed(moderator_client) for e in (mine, theirs, anonymous, old))
    assert _only(listed(moderator_client, "status=completed"), mine, [theirs, anonymous, old])
    assert _only(listed(moderator_client, "user=owner"), mine, [theirs, anonymous]) and old.execution_id in listed(
        moderator_client, "user=owner@example.com"
    )
    assert _only(listed(moderator_client, "user=anonymous"), anonymous, [mine, theirs, old])
    assert _only(listed(moderator_client, f"created_from={today}&user=owner"), mine, [old])


def test_the_search_finds_an_execution_by_its_id_or_its_script(moderator_client, owner):
    needle = make_execution(owner_id=owner.pk, script="import numpy\nprint('Needle in a haystack')")
    hay = make_execution(owner_id=owner.pk, script="print('hay')")

    assert _only(listed(moderator_client, "q=needle"), needle, [hay])
    assert _only(listed(moderator_client, f"q={hay.execution_id[:8]}"), hay, [needle])
    assert _only(listed(moderator_client, f"q={hay.execution_id.upper()}&user=owner"), hay, [needle])
    assert not _only(listed(moderator_client, "q=nothing+like+it"), needle, [])


def _only(html: str, present, absent) -> bool:
    return present.execution_id in html and not any(e.execution_id in html for e in absent)


def test_the_detail_shows_the_script_and_output(moderator_client, owner):
    execution = make_execution(owner_id=owner.pk, status=Status.COMPLETED, output="forty-two\n")

    html = moderator_client.get(f"{LIST}{execution.execution_id}/").content.decode()

    assert "forty-two" in html and "print(&#x27;hi&#x27;)" in html and "owner" in html
    assert "{&#x27;wall_seconds&#x27;" not in html and " s wall · " in html  # limits read as words, not a dict
    failed = make_execution(
        status=Status.FAILED,
        error_type="runtime_error",
        exit_code=1,
        exception_type="KeyError",
        exception_message="'x'",
        exception_line=3,
    )
    html = moderator_client.get(f"{LIST}{failed.execution_id}/").content.decode()
    assert "KeyError: &#x27;x&#x27; (line 3)" in html and '<label>Files</label> <div class="readonly">—' in html


def test_a_moderator_cancels_a_running_execution(moderator_client):
    execution = make_running()

    response = moderator_client.post(f"{LIST}{execution.execution_id}/cancel/")

    assert response.status_code == 302
    execution.reload()
    assert execution.cancel_requested


def test_a_moderator_deletes_an_execution_after_confirming(moderator_client):
    execution = make_execution(status=Status.COMPLETED)
    path = f"{LIST}{execution.execution_id}/delete/"

    assert moderator_client.get(path).status_code == 200
    moderator_client.post(path)

    assert Execution.objects(execution_id=execution.execution_id).count() == 0


def test_staff_without_the_permissions_are_refused(make_user):
    staff = Client()
    staff.force_login(make_user("intern", staff=True))
    execution = make_running()

    assert staff.get(LIST).status_code == 403
    assert staff.post(f"{LIST}{execution.execution_id}/cancel/").status_code == 403
    assert staff.post(f"{LIST}{execution.execution_id}/delete/").status_code == 403


def test_signed_in_users_who_are_not_staff_are_sent_to_the_admin_login(owner):
    client = Client()
    client.force_login(owner)

    response = client.get(LIST)

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_an_unknown_execution_is_a_404(moderator_client):
    assert moderator_client.get(f"{LIST}{'0' * 32}/").status_code == 404
    assert moderator_client.get(f"{LIST}not-an-id/").status_code == 404
