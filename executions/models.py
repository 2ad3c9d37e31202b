"""Django ORM models of the executions app: saved scripts and their moderation state.

Executions themselves live in MongoDB (``documents.py``); :class:`ExecutionRecord` only gives
them a place in the Django admin and permissions that a moderators' group can hold.
"""

import secrets

from django.conf import settings
from django.db import models


def new_script_key() -> str:
    """128 random bits: an unlisted script's link must not be guessable."""
    return secrets.token_urlsafe(16)


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private — only you"
    UNLISTED = "unlisted", "Unlisted — anyone with the link"
    PUBLIC = "public", "Public — listed for everyone"


class ModerationState(models.TextChoices):
    ACTIVE = "active", "Active"
    HIDDEN = "hidden", "Hidden by a moderator"


class Script(models.Model):
    key = models.CharField(max_length=32, unique=True, default=new_script_key, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scripts")
    title = models.CharField(max_length=200)
    source = models.TextField()
    runtime = models.CharField(max_length=64)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE)
    forked_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="forks")

    moderation_state = models.CharField(max_length=16, choices=ModerationState.choices, default=ModerationState.ACTIVE)
    moderation_reason = models.TextField(blank=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [
            models.Index(fields=["owner", "-updated_at"], name="script_owner_recent"),
            models.Index(fields=["visibility", "moderation_state", "-updated_at"], name="script_public_recent"),
        ]
        permissions = [("moderate_script", "Can hide and restore scripts")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_hidden(self) -> bool:
        return self.moderation_state == ModerationState.HIDDEN


class ExecutionRecord(models.Model):
    """No table: a handle for the admin's MongoDB-backed executions view and its permissions."""

    class Meta:
        managed = False
        verbose_name = "execution"
        verbose_name_plural = "executions"
        default_permissions = ("view", "delete")
        permissions = [("cancel_executionrecord", "Can cancel executions")]
