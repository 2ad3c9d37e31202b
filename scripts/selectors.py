"""Reads of saved scripts, with the access rule applied.

Who sees a script: its owner and staff always; anyone else only an active script of an active
owner that is public, or unlisted and reached by its key. Everybody else gets
:class:`ScriptNotFound` — the same as for a key that does not exist, so keys do not leak.
"""

from django.db.models import QuerySet

from executions import errors
from scripts.models import ModerationState, Script, Visibility

SCRIPT_NOT_FOUND = "No script with key {key!r} is visible to you."


class ScriptNotFound(errors.NotFound):
    def __init__(self, key: str):
        super().__init__(SCRIPT_NOT_FOUND.format(key=str(key)[:64]))


def script_visible_to(*, script: Script, user) -> bool:
    if _is_owner_or_staff(script=script, user=user):
        return True
    shared = script.visibility in (Visibility.PUBLIC, Visibility.UNLISTED)
    return shared and not script.is_hidden and script.owner.is_active


def script_editable_by(*, script: Script, user) -> bool:
    return bool(user and user.is_authenticated and user.pk == script.owner_id)


def _is_owner_or_staff(*, script: Script, user) -> bool:
    return bool(user and user.is_authenticated and (user.pk == script.owner_id or user.is_staff))


def script_get_for(*, key: str, user) -> Script:
    """The script, or :class:`ScriptNotFound`."""
    script = Script.objects.select_related("owner", "forked_from").filter(key=key).first()
    if script is None or not script_visible_to(script=script, user=user):
        raise ScriptNotFound(key)
    return script


def script_list_owned(*, user) -> QuerySet[Script]:
    """The user's own scripts, most recently changed first (none for anonymous users)."""
    if not (user and user.is_authenticated):
        return Script.objects.none()
    return Script.objects.filter(owner_id=user.pk)


def script_list_public() -> QuerySet[Script]:
    """Public scripts anyone may open and fork."""
    return Script.objects.filter(
        visibility=Visibility.PUBLIC, moderation_state=ModerationState.ACTIVE, owner__is_active=True
    ).select_related("owner")
