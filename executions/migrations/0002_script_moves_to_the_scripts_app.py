"""Saved scripts move to the scripts app: Django's state only, the table stays where it is."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("executions", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Script")],
            database_operations=[],
        ),
    ]
