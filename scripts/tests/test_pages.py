"""The script pages: the same services as the API, in forms and links."""

import pytest
from django.test import Client

from executions.caller import Caller
from executions.documents import Execution
from scripts import services as script_services
from scripts.models import Script, Visibility

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_store")]


@pytest.fixture
def owner_client(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def other_client(other) -> Client:
    client = Client()
    client.force_login(other)
    return client


FORM = {"title": "Greeting", "source": "print('hi')", "runtime": "python3.13", "visibility": "private"}


def test_saving_a_script_from_the_form_opens_its_page(owner_client, owner):
    response = owner_client.post("/scripts/new/", FORM)

    script = Script.objects.get(owner=owner)
    assert response.status_code == 302 and response["Location"] == f"/scripts/{script.key}/"
    page = owner_client.get(response["Location"]).content.decode()
    assert "Greeting" in page and "print(&#x27;hi&#x27;)" in page


def test_the_editor_can_hand_its_buffer_to_the_new_script_form(owner_client):
    response = owner_client.post("/scripts/new/", {"draft": "1", "source": "print('from the editor')"})

    assert response.status_code == 200
    assert "print(&#x27;from the editor&#x27;)" in response.content.decode()
    assert not Script.objects.exists()


def test_an_invalid_form_is_shown_again_with_the_reason(owner_client):
    response = owner_client.post("/scripts/new/", {**FORM, "title": " "})

    assert response.status_code == 422
    assert not Script.objects.exists()


def test_the_owner_edits_a_script(owner_client, owner, make_script):
    script = make_script(owner)

    owner_client.post(f"/scripts/{script.key}/edit/", {**FORM, "title": "Renamed", "visibility": "public"})

    script.refresh_from_db()
    assert (script.title, script.visibility) == ("Renamed", Visibility.PUBLIC)


def test_others_cannot_open_the_edit_or_delete_page_of_a_public_script(other_client, owner, make_script):
    script = make_script(owner, visibility=Visibility.PUBLIC)

    assert other_client.get(f"/scripts/{script.key}/edit/").status_code == 403
    assert other_client.post(f"/scripts/{script.key}/delete/").status_code == 403
    assert Script.objects.filter(pk=script.pk).exists()


def test_deleting_asks_first_then_deletes(owner_client, owner, make_script):
    script = make_script(owner)

    assert owner_client.get(f"/scripts/{script.key}/delete/").status_code == 200
    response = owner_client.post(f"/scripts/{script.key}/delete/")

    assert response["Location"] == "/scripts/" and not Script.objects.filter(pk=script.pk).exists()


def test_running_opens_the_executions_page(other_client, other, owner, make_script):
    script = make_script(owner, visibility=Visibility.PUBLIC)

    response = other_client.post(f"/scripts/{script.key}/run/")

    execution = Execution.objects.get()
    assert response["Location"] == f"/executions/{execution.execution_id}/"
    assert (execution.owner_id, execution.script_id) == (other.pk, script.pk)


def test_anyone_may_run_an_unlisted_script_by_its_link(owner, make_script):
    script = make_script(owner, visibility=Visibility.UNLISTED)

    response = Client().post(f"/scripts/{script.key}/run/")

    assert response.status_code == 302 and Execution.objects.get().owner_id is None


def test_running_a_hidden_script_explains_why_not(owner_client, owner, admin_user, make_script):
    script = make_script(owner)
    script_services.script_hide(script=script, moderator=admin_user, reason="cryptominer")

    response = owner_client.post(f"/scripts/{script.key}/run/")

    assert response.status_code == 403
    assert "cryptominer" in response.content.decode() and Execution.objects.count() == 0


def test_forking_opens_the_copy(other_client, other, owner, make_script):
    script = make_script(owner, visibility=Visibility.PUBLIC)

    response = other_client.post(f"/scripts/{script.key}/fork/")

    fork = Script.objects.get(owner=other)
    assert response["Location"] == f"/scripts/{fork.key}/"


def test_a_script_page_lists_its_runs(owner_client, owner, make_script):
    script = make_script(owner)
    execution, _ = script_services.script_run(script=script, caller=Caller.internal(owner))

    assert execution.execution_id in owner_client.get(f"/scripts/{script.key}/").content.decode()


def test_my_scripts_and_public_scripts_pages(owner_client, owner, other, make_script):
    make_script(owner, title="Mine, private")
    make_script(other, title="Theirs, public", visibility=Visibility.PUBLIC)

    mine = owner_client.get("/scripts/").content.decode()
    public = Client().get("/scripts/public/").content.decode()

    assert "Mine, private" in mine and "Theirs, public" not in mine
    assert "Theirs, public" in public and "Mine, private" not in public


def test_saving_and_listing_need_an_account():
    assert Client().get("/scripts/").status_code == 302
    assert Client().post("/scripts/new/", FORM).status_code == 302
