"""Writes to saved scripts. The pages, the API and the admin's actions all change scripts
through these functions, so the rules live in one place."""

from __future__ import annotations

import base64
import logging

from django.conf import settings
from django.utils import timezone

from executions import errors, services
from executions.caller import Caller
from executions.documents import Execution
from executions.limits import input_file_caps, limit_caps
from scripts.models import ModerationState, Script, Visibility

log = logging.getLogger(__name__)

TITLE_MAX_LENGTH = Script._meta.get_field("title").max_length
SIGN_IN_REQUIRED = "Sign in to save scripts and keep a history."
TITLE_REQUIRED = "Give the script a title."
TITLE_TOO_LONG = "title is {length} characters; the limit is {limit}"
UNKNOWN_VISIBILITY = "visibility must be one of: {known}"
NOT_OWNER = "Only the owner can change this script."
SCRIPT_HIDDEN = "A moderator hid this script, so it cannot be run or forked: {reason}"
HIDE_REASON_REQUIRED = "Give a reason for hiding the script; its owner will see it."
NUL_CHARACTER = "{field} must not contain NUL characters (\\x00)"


class ScriptRejected(services.SubmissionRejected):
    """Invalid script data (a 4xx, like a rejected submission)."""


class SignInRequired(errors.SignInRequired):
    def __init__(self, message: str = SIGN_IN_REQUIRED):
        super().__init__(message)


class ScriptForbidden(errors.Forbidden):
    """The caller may see the script but not do this with it."""


def script_create(
    *,
    owner,
    title: str,
    source: str,
    runtime: str | None = None,
    visibility: str = Visibility.PRIVATE,
    files: list[dict] | None = None,
    forked_from: Script | None = None,
) -> Script:
    _require_user(owner)
    script = Script(owner=owner, forked_from=forked_from)
    _apply(script, title=title, source=source, runtime=runtime or "", visibility=visibility, files=files or [])
    script.save()
    log.info("script created", extra={"script": script.key, "owner_id": owner.pk})
    return script


def script_update(
    *,
    script: Script,
    user,
    title: str | None = None,
    source: str | None = None,
    runtime: str | None = None,
    visibility: str | None = None,
    files: list[dict] | None = None,
) -> Script:
    """Change what is given; leave the rest. Only the owner may."""
    _require_owner(script, user)
    _apply(script, title=title, source=source, runtime=runtime, visibility=visibility, files=files)
    script.save()
    return script


def script_delete(*, script: Script, user) -> None:
    """Delete the script; its executions stay (in their owners' histories)."""
    _require_owner(script, user)
    log.info("script deleted", extra={"script": script.key, "owner_id": script.owner_id})
    script.delete()


def script_fork(*, script: Script, user) -> Script:
    """A private copy for ``user`` of a script they can see."""
    _require_user(user)
    _require_active(script, user)
    return script_create(
        owner=user,
        title=_fork_title(script.title),
        source=script.source,
        runtime=script.runtime,
        files=script.files,
        forked_from=script,
    )


def script_run(
    *,
    script: Script,
    caller: Caller,
    stdin: str = "",
    limits: dict | None = None,
    idempotency_key: str | None = None,
) -> tuple[Execution, bool]:
    """Run the saved source as the caller: the execution is theirs (anonymous for anonymous
    callers), within their caps and quotas, and linked to the script."""
    _require_active(script, caller.user)
    return services.execution_submit(
        caller=caller,
        script=script.source,
        stdin=stdin,
        runtime=script.runtime,
        limits=limits,
        files=script.files,
        input_caps=input_file_caps(signed_in=True),  # its owner's files, checked when saved
        script_id=script.pk,
        idempotency_key=idempotency_key,
    )


def script_hide(*, script: Script, moderator, reason: str) -> Script:
    """Hide a script from everybody but its owner and staff, with a reason the owner sees."""
    if not reason.strip():
        raise ScriptRejected(HIDE_REASON_REQUIRED)
    return _moderate(script, moderator, state=ModerationState.HIDDEN, reason=reason.strip())


def script_restore(*, script: Script, moderator) -> Script:
    return _moderate(script, moderator, state=ModerationState.ACTIVE, reason="")


# --- helpers ---------------------------------------------------------------------------


def _moderate(script: Script, moderator, *, state: str, reason: str) -> Script:
    script.moderation_state = state
    script.moderation_reason = reason
    script.moderated_at = timezone.now()
    script.moderated_by = moderator
    script.save(update_fields=["moderation_state", "moderation_reason", "moderated_at", "moderated_by"])
    log.info("script moderated", extra={"script": script.key, "state": state, "moderator": moderator.pk})
    return script


def _apply(script: Script, **values) -> None:
    """Validate and set each value that is not None."""
    checks = {
        "title": _clean_title,
        "source": _clean_source,
        "runtime": _clean_runtime,
        "visibility": _clean_visibility,
    }
    files = values.pop("files", None)
    for name, value in values.items():
        if value is not None:
            _refuse_nul(name, value)
            setattr(script, name, checks[name](value))
    if files is not None:
        script.files = _clean_files(files, runtime=script.runtime)


def _clean_files(files: list[dict], *, runtime: str) -> list[dict]:
    """Stored as base64, after the checks a submission's files get (a signed-in user's caps):
    every run of the script gives them again, to whoever runs it."""
    decoded = services.input_files_decode(
        files=files, caps=input_file_caps(signed_in=True), disk_mb=limit_caps(runtime or None).disk_mb
    )
    return [
        {"name": file.name, "content": base64.b64encode(file.data).decode("ascii"), "encoding": "base64"}
        for file in decoded
    ]


def _refuse_nul(name: str, value: str) -> None:
    # PostgreSQL cannot store NUL in text, and the script pages' forms refuse it too.
    if "\x00" in value:
        raise ScriptRejected(NUL_CHARACTER.format(field=name))


def _clean_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise ScriptRejected(TITLE_REQUIRED)
    if len(title) > TITLE_MAX_LENGTH:
        raise ScriptRejected(TITLE_TOO_LONG.format(length=len(title), limit=TITLE_MAX_LENGTH))
    return title


def _clean_source(source: str) -> str:
    if not source.strip():
        raise ScriptRejected(services.SCRIPT_EMPTY)
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > settings.SCRIPT_MAX_BYTES:
        raise ScriptRejected(services.SCRIPT_TOO_LARGE.format(size=size, limit=settings.SCRIPT_MAX_BYTES), status=413)
    return source


def _clean_runtime(runtime: str) -> str:
    try:
        return services.runtime_resolve(runtime=runtime or None)
    except services.SubmissionRejected as exc:
        raise ScriptRejected(exc.message) from None


def _clean_visibility(visibility: str) -> str:
    if visibility not in Visibility.values:
        raise ScriptRejected(UNKNOWN_VISIBILITY.format(known=", ".join(Visibility.values)))
    return visibility


def _fork_title(title: str) -> str:
    return f"{title} (fork)"[:TITLE_MAX_LENGTH]


def _require_user(user) -> None:
    if user is None or not user.is_authenticated:
        raise SignInRequired()


def _require_owner(script: Script, user) -> None:
    _require_user(user)
    if user.pk != script.owner_id:
        raise ScriptForbidden(NOT_OWNER)


def _require_active(script: Script, user) -> None:
    # Staff may still run a hidden script, to see what it does before deciding.
    if script.is_hidden and not (user is not None and user.is_authenticated and user.is_staff):
        raise ScriptForbidden(SCRIPT_HIDDEN.format(reason=script.moderation_reason))
