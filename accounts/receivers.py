"""Signal receivers, connected in :meth:`accounts.apps.AccountsConfig.ready`."""

from accounts import services


def profile_on_user_created(sender, instance, created, raw=False, **kwargs):
    # Every user has a profile, so moderators find each one in "Quotas and standing".
    if created and not raw:
        services.profile_ensure(user=instance)
    if not raw:
        services.superuser_email_verified(user=instance)


def moderators_after_migrate(sender, **kwargs):
    services.moderators_group_ensure()
