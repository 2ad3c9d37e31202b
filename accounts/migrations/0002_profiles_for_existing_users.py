from django.conf import settings
from django.db import migrations


def create_profiles(apps, schema_editor):
    # New users get one from a signal; these are the ones who signed up before.
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    Profile = apps.get_model("accounts", "Profile")
    Profile.objects.bulk_create(
        [Profile(user_id=pk) for pk in User.objects.filter(profile__isnull=True).values_list("pk", flat=True)]
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_profiles, migrations.RunPython.noop)]
