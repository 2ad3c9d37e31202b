from django.conf import settings
from django.db import models

OVERRIDE_HELP = "Empty: the site's default for signed-in users. 0: no limit for this user."


class Profile(models.Model):
    """What the site keeps about a user beyond ``auth.User``: ban state and quota overrides."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="profile"
    )
    banned_at = models.DateTimeField(null=True, blank=True)
    ban_reason = models.TextField(blank=True)

    submissions_per_minute = models.PositiveIntegerField(null=True, blank=True, help_text=OVERRIDE_HELP)
    concurrent_executions = models.PositiveIntegerField(null=True, blank=True, help_text=OVERRIDE_HELP)
    cpu_seconds_per_day = models.PositiveIntegerField(null=True, blank=True, help_text=OVERRIDE_HELP)

    class Meta:
        verbose_name = "quotas and standing"
        verbose_name_plural = "quotas and standing"
        permissions = [("ban_user", "Can deactivate, ban and reactivate users")]

    def __str__(self) -> str:
        return f"{self.user} ({'banned' if self.is_banned else 'in good standing'})"

    @property
    def is_banned(self) -> bool:
        return self.banned_at is not None

    def quota_overrides(self) -> dict[str, int]:
        names = ("submissions_per_minute", "concurrent_executions", "cpu_seconds_per_day")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}
