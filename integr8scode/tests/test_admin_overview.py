"""The staff-only overview of executions in the admin."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from executions.overview import executions_overview
from executions.tests.factories import make_execution, make_running

pytestmark = pytest.mark.usefixtures("empty_store")  # counts or claims across the whole store


@pytest.fixture
def activity():
    now = timezone.now()
    for ms in (10, 20, 30, 40, 1000):
        make_execution(status="completed", exit_code=0, duration_ms=ms, finished_at=now)
    make_execution(status="failed", error_type="timeout", duration_ms=2000, finished_at=now)
    make_execution(status="completed", duration_ms=5, finished_at=now - timedelta(hours=2))  # outside the hour
    make_execution()
    make_running()
    return now


def test_the_overview_counts_the_queue_the_running_and_the_last_hour(activity):
    overview = executions_overview(now=activity)

    assert (overview.queued, overview.running, overview.finished) == (1, 1, 6)
    assert dict(overview.outcomes) == {"completed": 5, "failed: timeout": 1}
    assert (overview.duration_p50_ms, overview.duration_p95_ms) == (35, 2000)


@pytest.mark.django_db
def test_staff_see_the_overview_linked_from_the_admin_index(activity, admin_user):
    client = Client()
    client.force_login(admin_user)

    index = client.get("/admin/")
    page = client.get("/admin/overview/")

    assert b'href="/admin/overview/"' in index.content
    assert page.status_code == 200
    assert b'data-testid="queued">1<' in page.content and b'data-testid="p95">2000 ms<' in page.content


@pytest.mark.django_db
def test_people_who_are_not_staff_are_sent_to_log_in(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user("someone", "s@example.com", "pw-123456789"))

    response = client.get("/admin/overview/")

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
