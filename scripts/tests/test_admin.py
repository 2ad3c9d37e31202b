"""Moderating scripts in the admin: search, filter by state, hide with a reason, restore."""

import pytest
from django.contrib.admin import helpers
from django.test import Client

from scripts.models import ModerationState, Visibility

pytestmark = pytest.mark.django_db

SCRIPTS = "/admin/scripts/script/"


def act(client, action: str, scripts, **extra):
    return client.post(SCRIPTS, {"action": action, helpers.ACTION_CHECKBOX_NAME: [s.pk for s in scripts], **extra})


def test_a_moderator_hides_a_script_with_a_reason(moderator_client, moderator, owner, make_script):
    script = make_script(owner, visibility=Visibility.PUBLIC)

    asked = act(moderator_client, "hide", [script])
    done = act(moderator_client, "hide", [script], apply="Hide", reason="steals credentials")

    assert 'name="reason"' in asked.content.decode() and done.status_code == 302
    script.refresh_from_db()
    assert (script.moderation_state, script.moderation_reason, script.moderated_by) == (
        ModerationState.HIDDEN,
        "steals credentials",
        moderator,
    )
    assert Client().get(f"/scripts/{script.key}/").status_code == 404


def test_a_moderator_restores_a_hidden_script(moderator_client, admin_user, owner, make_script):
    script = make_script(
        owner, visibility=Visibility.PUBLIC, moderation_state=ModerationState.HIDDEN, moderation_reason="oops"
    )

    act(moderator_client, "restore", [script])

    script.refresh_from_db()
    assert script.moderation_state == ModerationState.ACTIVE
    assert Client().get(f"/scripts/{script.key}/").status_code == 200


def test_scripts_are_searched_by_owner_and_filtered_by_state(moderator_client, owner, other, make_script):
    make_script(owner, title="owned by owner")
    make_script(other, title="hidden one", moderation_state=ModerationState.HIDDEN)

    by_owner = moderator_client.get(f"{SCRIPTS}?q=owner%40example.com").content.decode()
    hidden = moderator_client.get(f"{SCRIPTS}?moderation_state__exact=hidden").content.decode()

    assert "owned by owner" in by_owner and "hidden one" not in by_owner
    assert "hidden one" in hidden and "owned by owner" not in hidden


def test_moderators_cannot_change_a_scripts_source(moderator_client, owner, make_script):
    script = make_script(owner)

    moderator_client.post(
        f"{SCRIPTS}{script.pk}/change/", {"title": "x", "source": "import os", "runtime": "x", "visibility": "public"}
    )

    script.refresh_from_db()
    assert script.source == "print('hello')"
