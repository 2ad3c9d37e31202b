"""Reads about accounts."""

from accounts.models import Profile


def quota_overrides_for(*, user_id: int) -> dict[str, int]:
    """The quotas an admin has set for this user (only those set)."""
    profile = Profile.objects.filter(user_id=user_id).first()
    return profile.quota_overrides() if profile else {}


def profile_for(*, user) -> Profile:
    """The user's profile, unsaved and empty when none was ever needed."""
    return Profile.objects.filter(user=user).first() or Profile(user=user)
