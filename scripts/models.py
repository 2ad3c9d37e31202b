"""Saved scripts and their moderation state (the Django ORM).

The table keeps the name it had when scripts were part of the executions app
(``executions_script``): the move was a change of Django's state only, no data moved.
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
    # Files its runs get in their working directory: [{"name", "content" (base64)}], checked
    # as a submission's are (scripts/services.py).
    files = models.JSONField(default=list, blank=True)
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
        db_table = "executions_script"
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
