"""Writes about accounts: moderation of users and the moderators' group. The admin's actions
and any other caller go through these functions."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from accounts.models import Profile
from accounts.selectors import profile_for

BAN_REASON_REQUIRED = "Give a reason for the ban; the user and other moderators will see it."
MODERATORS_GROUP = "Moderators"
# (app_label, codename): exactly what moderating needs, nothing that edits accounts or code.
MODERATOR_PERMISSIONS = (
    ("auth", "view_user"),
    ("accounts", "view_profile"),
    ("accounts", "change_profile"),
    ("accounts", "ban_user"),
    ("scripts", "view_script"),
    ("scripts", "moderate_script"),
    ("executions", "view_executionrecord"),
    ("executions", "cancel_executionrecord"),
    ("executions", "delete_executionrecord"),
)


class BanRejected(ValueError):
    pass


@dataclass(frozen=True)
class Enforcement:
    """What taking a user's access away did."""

    sessions_ended: int
    executions_cancelled: int


def account_tokens_revoke(*, user) -> int:
    """End every session of the user: browser sign-ins and API tokens alike (each JWT names a
    session and is checked against it on every request). Returns how many ended."""
    from allauth.usersessions.models import UserSession

    sessions = list(UserSession.objects.filter(user_id=user.pk))
    for session in sessions:
        session.end()
    return len(sessions)


def account_deactivate(*, user) -> Enforcement:
    """Take the user's access away at once: no sign-in, no token, nothing left in the queue."""
    from executions.services import executions_cancel_for_owner

    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    return Enforcement(
        sessions_ended=account_tokens_revoke(user=user),
        executions_cancelled=executions_cancel_for_owner(owner_id=user.pk),
    )


def account_ban(*, user, reason: str) -> Enforcement:
    """Deactivate and record why; the reason stays on the user's profile."""
    if not reason.strip():
        raise BanRejected(BAN_REASON_REQUIRED)
    with transaction.atomic():
        profile = profile_for(user=user)
        profile.banned_at = timezone.now()
        profile.ban_reason = reason.strip()
        profile.save()
    return account_deactivate(user=user)


def account_reactivate(*, user) -> None:
    """Lift a deactivation or a ban."""
    user.is_active = True
    user.save(update_fields=["is_active"])
    Profile.objects.filter(user=user).update(banned_at=None, ban_reason="")


def superuser_email_verified(*, user) -> None:
    """A superuser's address counts as verified (made with ``createsuperuser`` or by another
    superuser, by someone who runs the server): they sign in at once, with no mail to wait for."""
    from allauth.account.models import EmailAddress

    if not (user.is_superuser and user.email):
        return
    if not EmailAddress.objects.filter(email__iexact=user.email).exists():
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)


def profile_ensure(*, user) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def moderators_group_ensure() -> Group | None:
    """The "Moderators" group with exactly :data:`MODERATOR_PERMISSIONS`. Runs after every
    migrate; None while some of the permissions do not exist yet (an app not migrated)."""
    permissions = [
        Permission.objects.filter(content_type__app_label=app, codename=codename).first()
        for app, codename in MODERATOR_PERMISSIONS
    ]
    if None in permissions:
        return None
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    group.permissions.set(permissions)
    return group
