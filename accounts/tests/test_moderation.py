"""Taking a user's access away: deactivation and bans, and the moderators' group."""

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client

from accounts import services
from accounts.tests.helpers import obtain_tokens
from executions.documents import Status
from executions.tests.factories import make_execution, make_running

pytestmark = pytest.mark.django_db


def test_a_ban_records_the_reason_and_deactivates(owner):
    services.account_ban(user=owner, reason="  crypto mining  ")

    owner.refresh_from_db()
    assert not owner.is_active
    assert owner.profile.is_banned and owner.profile.ban_reason == "crypto mining"


def test_a_ban_needs_a_reason(owner):
    with pytest.raises(services.BanRejected, match=services.BAN_REASON_REQUIRED):
        services.account_ban(user=owner, reason=" ")

    owner.refresh_from_db()
    assert owner.is_active


def test_deactivation_cancels_the_users_queued_and_running_executions_only(owner, other):
    queued = make_execution(owner_id=owner.pk)
    running = make_running(owner_id=owner.pk)
    finished = make_execution(owner_id=owner.pk, status=Status.COMPLETED)
    someone_elses = make_execution(owner_id=other.pk)

    enforcement = services.account_deactivate(user=owner)

    assert enforcement.executions_cancelled == 2
    queued.reload(), running.reload(), finished.reload(), someone_elses.reload()
    assert (queued.status, queued.error_type) == (Status.FAILED, "cancelled")
    assert running.cancel_requested
    assert finished.status == Status.COMPLETED and someone_elses.status == Status.QUEUED


def test_deactivation_ends_every_session_of_the_user(owner, other):
    obtain_tokens(Client(), owner)
    obtain_tokens(Client(), owner)
    obtain_tokens(Client(), other)

    enforcement = services.account_deactivate(user=owner)

    assert enforcement.sessions_ended == 2
    assert not UserSession.objects.filter(user=owner).exists()
    assert UserSession.objects.filter(user=other).count() == 1


def test_reactivation_lifts_the_ban(owner):
    services.account_ban(user=owner, reason="mistake")

    services.account_reactivate(user=owner)

    owner.refresh_from_db()
    assert owner.is_active and not owner.profile.is_banned and owner.profile.ban_reason == ""


def test_every_new_user_has_a_profile(make_user):
    assert make_user("fresh").profile.quota_overrides() == {}


def test_the_moderators_group_holds_exactly_the_moderation_permissions(moderator):
    granted = {f"{p.content_type.app_label}.{p.codename}" for p in moderator.groups.get().permissions.all()}

    assert granted == {f"{app}.{codename}" for app, codename in services.MODERATOR_PERMISSIONS}
    assert moderator.has_perm("accounts.ban_user") and moderator.has_perm("scripts.moderate_script")
    assert not moderator.has_perm("auth.change_user") and not moderator.has_perm("scripts.change_script")
