from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_migrate, post_save

        from accounts import receivers

        post_save.connect(
            receivers.profile_on_user_created, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.profile"
        )
        post_migrate.connect(receivers.moderators_after_migrate, dispatch_uid="accounts.moderators")
