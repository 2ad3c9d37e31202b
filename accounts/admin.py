"""Moderating users: deactivate, ban with a reason, reactivate (each ends the user's sessions
and tokens and cancels their queued runs at once), and per-user quota overrides."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from accounts import services
from accounts.admin_actions import action_with_reason
from accounts.models import Profile

User = get_user_model()
ENFORCED = "{users} user(s) lost access: {sessions} session(s) and token(s) ended, {executions} execution(s) cancelled."
REACTIVATED = "{users} user(s) reactivated."
SKIPPED = "Skipped {who}: moderators cannot act on themselves or on superusers."
QUOTA_FIELDS = ("submissions_per_minute", "concurrent_executions", "cpu_seconds_per_day")
# What only a superuser may change: who is staff and what anybody may do.
PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ("banned_at", "ban_reason", *QUOTA_FIELDS)
    readonly_fields = ("banned_at", "ban_reason")


class BanPermissionMixin:
    def has_ban_permission(self, request) -> bool:
        return request.user.has_perm("accounts.ban_user")

    def _actionable(self, request, users) -> list:
        """Leave out the moderator's own account and, for non-superusers, superusers."""
        allowed = [u for u in users if u.pk != request.user.pk and (request.user.is_superuser or not u.is_superuser)]
        skipped = [str(u) for u in users if u not in allowed]
        if skipped:
            self.message_user(request, SKIPPED.format(who=", ".join(skipped)), messages.WARNING)
        return allowed

    def _enforce(self, request, users, apply) -> None:
        results = [apply(user) for user in self._actionable(request, users)]
        self.message_user(
            request,
            ENFORCED.format(
                users=len(results),
                sessions=sum(r.sessions_ended for r in results),
                executions=sum(r.executions_cancelled for r in results),
            ),
        )

    @admin.action(description="Deactivate: sign out everywhere and cancel queued runs", permissions=["ban"])
    def deactivate(self, request, queryset):
        self._enforce(request, self._users(queryset), lambda user: services.account_deactivate(user=user))

    @admin.action(description="Ban (with a reason)", permissions=["ban"])
    def ban(self, request, queryset):
        def apply(selected, reason):
            self._enforce(request, self._users(selected), lambda user: services.account_ban(user=user, reason=reason))

        return action_with_reason(self, request, queryset, title="Ban", apply=apply)

    @admin.action(description="Reactivate (lift a ban)", permissions=["ban"])
    def reactivate(self, request, queryset):
        users = self._actionable(request, self._users(queryset))
        for user in users:
            services.account_reactivate(user=user)
        self.message_user(request, REACTIVATED.format(users=len(users)))

    def _users(self, queryset) -> list:
        return [self._user(obj) for obj in queryset]

    def _user(self, obj):
        return obj


admin.site.unregister(User)


@admin.register(User)
class ModeratedUserAdmin(BanPermissionMixin, UserAdmin):
    list_display = ("username", "email", "is_active", "is_staff", "banned", "date_joined")
    list_filter = (
        "is_active",
        ("profile__banned_at", admin.EmptyFieldListFilter),
        "is_staff",
        "is_superuser",
        "groups",
    )
    inlines = [ProfileInline]
    actions = ["deactivate", "ban", "reactivate"]

    @admin.display(boolean=True, description="banned", ordering="profile__banned_at")
    def banned(self, user) -> bool:
        return hasattr(user, "profile") and user.profile.is_banned

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else (*fields, *PRIVILEGE_FIELDS)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Unticking "active" by hand must take access away just like the action does.
        if change and "is_active" in form.changed_data and not obj.is_active:
            services.account_deactivate(user=obj)


@admin.register(Profile)
class ProfileAdmin(BanPermissionMixin, admin.ModelAdmin):
    list_display = ("user", "is_active", "banned_at", *QUOTA_FIELDS)
    list_filter = (("banned_at", admin.EmptyFieldListFilter), "user__is_active")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)
    fields = ("user", "banned_at", "ban_reason", *QUOTA_FIELDS)
    readonly_fields = ("user", "banned_at", "ban_reason")
    actions = ["deactivate", "ban", "reactivate"]

    @admin.display(boolean=True, ordering="user__is_active")
    def is_active(self, profile) -> bool:
        return profile.user.is_active

    def has_add_permission(self, request) -> bool:
        return False  # every user has one already

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _user(self, obj):
        return obj.user
