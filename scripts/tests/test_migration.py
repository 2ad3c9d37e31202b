"""Scripts moved from the executions app to their own: no data moves, no permission is lost."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("executions", "0001_initial"),
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
]
AFTER = [("scripts", "0001_initial")]


@pytest.mark.django_db(transaction=True)
def test_scripts_and_the_permissions_granted_on_them_survive_the_move():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    owner = old.get_model("auth", "User").objects.create(username="keeper")
    old.get_model("executions", "Script").objects.create(owner=owner, title="kept", source="print(1)", runtime="py")
    content_type, _ = old.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label="executions", model="script"
    )
    permission, _ = old.get_model("auth", "Permission").objects.get_or_create(
        codename="moderate_script", content_type=content_type, defaults={"name": "Can hide and restore scripts"}
    )
    old.get_model("auth", "Group").objects.create(name="moderators").permissions.add(permission)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps

    assert [s.title for s in new.get_model("scripts", "Script").objects.all()] == ["kept"]
    group = new.get_model("auth", "Group").objects.get(name="moderators")
    assert [(p.content_type.app_label, p.codename) for p in group.permissions.all()] == [("scripts", "moderate_script")]
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # the rest, for the tests after this one
