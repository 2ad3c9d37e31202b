"""Saved scripts, taken over from the executions app (its 0001 made the table, executions_script):
Django's state only, no data moves. The content type goes with the model, so the permissions
granted on it (a moderators' group's moderate_script) stay granted."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import scripts.models


def move_content_type(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    content_types.objects.filter(app_label="executions", model="script").update(app_label="scripts")


def move_content_type_back(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    content_types.objects.filter(app_label="scripts", model="script").update(app_label="executions")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
        ("executions", "0002_script_moves_to_the_scripts_app"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Script",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("key", models.CharField(default=scripts.models.new_script_key, editable=False, max_length=32, unique=True)),
                        ("title", models.CharField(max_length=200)),
                        ("source", models.TextField()),
                        ("runtime", models.CharField(max_length=64)),
                        ("visibility", models.CharField(choices=[("private", "Private — only you"), ("unlisted", "Unlisted — anyone with the link"), ("public", "Public — listed for everyone")], default="private", max_length=16)),
                        ("moderation_state", models.CharField(choices=[("active", "Active"), ("hidden", "Hidden by a moderator")], default="active", max_length=16)),
                        ("moderation_reason", models.TextField(blank=True)),
                        ("moderated_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("forked_from", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="forks", to="scripts.script")),
                        ("moderated_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("owner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="scripts", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "executions_script",
                        "ordering": ["-updated_at", "-pk"],
                        "permissions": [("moderate_script", "Can hide and restore scripts")],
                        "indexes": [
                            models.Index(fields=["owner", "-updated_at"], name="script_owner_recent"),
                            models.Index(fields=["visibility", "moderation_state", "-updated_at"], name="script_public_recent"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
