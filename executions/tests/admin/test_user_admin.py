"""Moderating users in the admin: the actions take access away at once."""

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.admin import helpers
from django.test import Client

from accounts.admin_actions import REASON_REQUIRED
from accounts.tests.helpers import obtain_tokens
from executions.documents import Status
from executions.tests.factories import make_execution

pytestmark = pytest.mark.django_db

USERS = "/admin/auth/user/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def act(client, action: str, users, **extra):
    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [u.pk for u in users], **extra}
    return client.post(USERS, data)


def test_banning_asks_for_a_reason_first(moderator, owner):
    response = act(signed_in(moderator), "ban", [owner])

    assert response.status_code == 200 and 'name="reason"' in response.content.decode()
    owner.refresh_from_db()
    assert owner.is_active


def test_a_ban_without_a_reason_is_not_applied(moderator, owner):
    response = act(signed_in(moderator), "ban", [owner], apply="Ban", reason="")

    assert REASON_REQUIRED in response.content.decode()
    owner.refresh_from_db()
    assert owner.is_active


def test_a_moderators_ban_takes_access_away_at_once(moderator, owner):
    queued = make_execution(owner_id=owner.pk)
    obtain_tokens(Client(), owner)

    response = act(signed_in(moderator), "ban", [owner], apply="Ban", reason="phishing pages")

    assert response.status_code == 302
    owner.refresh_from_db()
    queued.reload()
    assert not owner.is_active and owner.profile.ban_reason == "phishing pages"
    assert queued.status == Status.FAILED and not UserSession.objects.filter(user=owner).exists()


def test_moderators_cannot_ban_superusers_or_themselves(moderator, admin_user):
    act(signed_in(moderator), "deactivate", [admin_user, moderator])

    admin_user.refresh_from_db(), moderator.refresh_from_db()
    assert admin_user.is_active and moderator.is_active


def test_reactivating_lifts_a_ban(moderator, owner):
    client = signed_in(moderator)
    act(client, "ban", [owner], apply="Ban", reason="mistake")

    act(client, "reactivate", [owner])

    owner.refresh_from_db()
    assert owner.is_active and not owner.profile.is_banned


def test_moderators_see_users_but_cannot_edit_accounts_or_privileges(moderator, owner):
    client = signed_in(moderator)

    page = client.get(f"{USERS}{owner.pk}/change/")
    client.post(f"{USERS}{owner.pk}/change/", {"username": "owner", "is_superuser": "on", "is_staff": "on"})

    assert page.status_code == 200 and 'name="is_superuser"' not in page.content.decode()
    owner.refresh_from_db()
    assert not owner.is_superuser and not owner.is_staff


def test_unticking_active_in_the_change_form_also_cancels_and_signs_out(admin_user, owner):
    queued = make_execution(owner_id=owner.pk)
    client = signed_in(admin_user)
    form = client.get(f"{USERS}{owner.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(
        {
            "is_active": "",
            "date_joined_0": owner.date_joined.date().isoformat(),
            "date_joined_1": owner.date_joined.time().strftime("%H:%M:%S"),
            "groups": [],
            "user_permissions": [],
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "1",
            "profile-MIN_NUM_FORMS": "0",
            "profile-MAX_NUM_FORMS": "1",
            "profile-0-user": owner.pk,
        }
    )

    response = client.post(f"{USERS}{owner.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    queued.reload()
    assert queued.status == Status.FAILED


def test_moderators_set_a_users_quota_overrides(moderator, owner):
    response = signed_in(moderator).post(
        f"/admin/accounts/profile/{owner.pk}/change/",
        {"submissions_per_minute": "2", "concurrent_executions": "", "cpu_seconds_per_day": "0"},
    )

    assert response.status_code == 302
    owner.profile.refresh_from_db()
    assert owner.profile.quota_overrides() == {"submissions_per_minute": 2, "cpu_seconds_per_day": 0}
