"""Moderation of saved scripts in the Django admin. Actions call the same services as the
pages and the API."""

from django.contrib import admin

from accounts.admin_actions import action_with_reason
from scripts import services as script_services
from scripts.models import Script

HIDDEN = "{count} script(s) hidden."
RESTORED = "{count} script(s) restored."


@admin.register(Script)
class ScriptAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "visibility", "moderation_state", "runtime", "updated_at")
    list_filter = ("moderation_state", "visibility", "runtime")
    search_fields = ("title", "key", "owner__username", "owner__email", "source")
    list_select_related = ("owner",)
    date_hierarchy = "updated_at"
    readonly_fields = (
        "key",
        "owner",
        "forked_from",
        "moderation_state",
        "moderation_reason",
        "moderated_at",
        "moderated_by",
        "created_at",
        "updated_at",
    )
    actions = ["hide", "restore"]

    def has_add_permission(self, request) -> bool:
        return False  # scripts belong to their owners; they save them on the site

    def has_moderate_permission(self, request) -> bool:
        return request.user.has_perm("scripts.moderate_script")

    @admin.action(description="Hide (with a reason)", permissions=["moderate"])
    def hide(self, request, queryset):
        def apply(selected, reason):
            for script in selected:
                script_services.script_hide(script=script, moderator=request.user, reason=reason)
            self.message_user(request, HIDDEN.format(count=len(selected)))

        return action_with_reason(self, request, queryset, title="Hide", apply=apply)

    @admin.action(description="Restore", permissions=["moderate"])
    def restore(self, request, queryset):
        for script in queryset:
            script_services.script_restore(script=script, moderator=request.user)
        self.message_user(request, RESTORED.format(count=len(queryset)))
