"""Saving, changing, forking, running and moderating scripts through the services."""

import pytest
from django.test import override_settings

from executions import services
from executions.caller import Caller
from executions.documents import Execution
from scripts import services as script_services
from scripts.models import ModerationState, Visibility
from scripts.services import (
    HIDE_REASON_REQUIRED,
    NOT_OWNER,
    TITLE_REQUIRED,
    UNKNOWN_VISIBILITY,
    ScriptForbidden,
    ScriptRejected,
    SignInRequired,
)

pytestmark = pytest.mark.django_db


def test_a_saved_script_gets_an_unguessable_key_and_the_default_runtime(owner):
    script = script_services.script_create(owner=owner, title=" Fizz ", source="print('fizz')")

    assert script.title == "Fizz" and script.visibility == Visibility.PRIVATE
    assert len(script.key) >= 22 and script.runtime == services.runtime_resolve(runtime=None)


def test_anonymous_visitors_cannot_save_scripts():
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(SignInRequired):
        script_services.script_create(owner=AnonymousUser(), title="x", source="pass")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "  "}, TITLE_REQUIRED),
        ({"source": " \n"}, services.SCRIPT_EMPTY),
        ({"visibility": "secret"}, UNKNOWN_VISIBILITY.format(known="private, unlisted, public")),
    ],
)
def test_invalid_scripts_are_rejected_with_a_clear_message(owner, fields, message):
    values = {"title": "ok", "source": "pass", **fields}
    with pytest.raises(ScriptRejected) as rejected:
        script_services.script_create(owner=owner, **values)

    assert rejected.value.message == message and rejected.value.status == 422


@override_settings(SCRIPT_MAX_BYTES=10)
def test_a_script_over_the_size_limit_is_a_413(owner):
    with pytest.raises(ScriptRejected) as rejected:
        script_services.script_create(owner=owner, title="big", source="#" * 11)

    assert rejected.value.status == 413


def test_an_unknown_runtime_is_rejected(owner):
    with pytest.raises(ScriptRejected, match="ruby"):
        script_services.script_create(owner=owner, title="x", source="pass", runtime="ruby")


def test_only_the_owner_changes_or_deletes_a_script(owner, other, make_script):
    script = make_script(owner, visibility=Visibility.PUBLIC)

    with pytest.raises(ScriptForbidden, match=NOT_OWNER):
        script_services.script_update(script=script, user=other, title="mine now")
    with pytest.raises(ScriptForbidden):
        script_services.script_delete(script=script, user=other)
    updated = script_services.script_update(script=script, user=owner, source="print(2)")

    assert updated.source == "print(2)" and updated.title == "Hello"


def test_a_fork_is_a_private_copy_that_remembers_its_origin(owner, other, make_script):
    original = make_script(owner, visibility=Visibility.PUBLIC, source="print('orig')")

    fork = script_services.script_fork(script=original, user=other)

    assert fork.owner == other and fork.visibility == Visibility.PRIVATE
    assert fork.source == original.source and fork.forked_from == original and fork.title == "Hello (fork)"


def test_running_a_script_makes_an_execution_of_the_runner_linked_to_the_script(owner, other, make_script):
    script = make_script(owner, visibility=Visibility.PUBLIC, source="print('run')")

    execution, created = script_services.script_run(script=script, caller=Caller.internal(other), stdin="in")

    stored = Execution.objects.get(execution_id=execution.execution_id)
    assert created and (stored.owner_id, stored.script_id) == (other.pk, script.pk)
    assert (stored.script, stored.stdin, stored.runtime) == ("print('run')", "in", script.runtime)


def test_an_anonymous_run_is_anonymous_and_gets_the_anonymous_caps(owner, make_script, settings):
    script = make_script(owner, visibility=Visibility.PUBLIC)
    anonymous = Caller(owner_id=None, address="203.0.113.9")  # as a page or the API builds it

    execution, _ = script_services.script_run(script=script, caller=anonymous)

    assert execution.owner_id is None
    assert execution.limits["memory_mb"] == settings.ANONYMOUS_EXECUTION_LIMITS["memory_mb"]


def test_a_hidden_script_cannot_be_run_or_forked_except_by_staff(owner, other, admin_user, make_script):
    script = make_script(owner, visibility=Visibility.PUBLIC)
    script_services.script_hide(script=script, moderator=admin_user, reason="malware")

    for user in (owner, other):
        with pytest.raises(ScriptForbidden, match="malware"):
            script_services.script_run(script=script, caller=Caller.internal(user))
    with pytest.raises(ScriptForbidden):
        script_services.script_fork(script=script, user=other)
    assert script_services.script_run(script=script, caller=Caller.internal(admin_user))[1]


def test_hiding_needs_a_reason_and_restoring_clears_it(owner, admin_user, make_script):
    script = make_script(owner)
    with pytest.raises(ScriptRejected, match=HIDE_REASON_REQUIRED):
        script_services.script_hide(script=script, moderator=admin_user, reason="")

    script_services.script_hide(script=script, moderator=admin_user, reason="phishing")
    script.refresh_from_db()
    assert (script.moderation_state, script.moderation_reason, script.moderated_by) == (
        ModerationState.HIDDEN,
        "phishing",
        admin_user,
    )

    script_services.script_restore(script=script, moderator=admin_user)
    script.refresh_from_db()
    assert (script.moderation_state, script.moderation_reason) == (ModerationState.ACTIVE, "")


def test_deleting_a_script_keeps_its_executions(owner, make_script):
    script = make_script(owner)
    execution, _ = script_services.script_run(script=script, caller=Caller.internal(owner))
    script_id = script.pk

    script_services.script_delete(script=script, user=owner)

    assert Execution.objects.get(execution_id=execution.execution_id).script_id == script_id
