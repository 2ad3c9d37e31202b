"""``/?script=<key>`` opens a saved script in the editor when the caller may see it, and the
island learns whether (and where) it can save the buffer as a script."""

import pytest

from executions.tests.pages.test_editor_page import island_props
from executions.views import SCRIPT_UNAVAILABLE
from scripts.models import Visibility


@pytest.fixture
def private_script(owner, make_script):
    return make_script(owner, title="Mine", source="print('secret')", runtime="python3.13")


@pytest.fixture
def public_script(owner, make_script):
    return make_script(owner, title="Shared", source="print('shared')", visibility=Visibility.PUBLIC)


def test_the_owner_opens_their_private_script_with_its_source_runtime_and_title(client, owner, private_script):
    client.force_login(owner)

    props = island_props(client.get(f"/?script={private_script.key}"), "editor-props")

    assert props["script"] == "print('secret')"
    assert props["runtime"] == "python3.13"
    assert props["title"] == "Mine"
    assert props["saved_script"] == {"key": private_script.key, "title": "Mine", "visibility": "private"}
    assert "notice" not in props


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "another-user"])
def test_anyone_opens_a_public_script_but_saves_it_only_as_a_copy(client, other, public_script, signed_in):
    if signed_in:
        client.force_login(other)

    props = island_props(client.get(f"/?script={public_script.key}"), "editor-props")

    assert props["script"] == "print('shared')"
    assert props["saved_script"] is None  # Save makes a new script: only the owner writes to it


def test_signing_in_from_an_opened_script_comes_back_to_it(client, public_script):
    props = island_props(client.get(f"/?script={public_script.key}"), "editor-props")

    assert props["urls"]["sign_in"] == f"/accounts/login/?next=/%3Fscript%3D{public_script.key}"


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "another-user"])
def test_a_private_script_of_someone_else_is_ignored_with_a_notice(client, other, private_script, signed_in):
    if signed_in:
        client.force_login(other)

    response = client.get(f"/?script={private_script.key}")

    assert response.status_code == 200
    props = island_props(response, "editor-props")
    assert props["script"] is None and props["runtime"] is None
    assert props["notice"] == SCRIPT_UNAVAILABLE
    assert "secret" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["nope", "x" * 500, "'; DROP TABLE--", "%00"])
def test_an_unknown_key_is_not_an_error(client, key):
    response = client.get("/", {"script": key})

    assert response.status_code == 200
    assert island_props(response, "editor-props")["notice"] == SCRIPT_UNAVAILABLE


@pytest.mark.django_db
def test_an_empty_key_starts_from_an_example_without_a_notice(client):
    props = island_props(client.get("/?script="), "editor-props")

    assert props["script"] is None and "notice" not in props


def test_the_script_page_links_to_the_editor_with_its_key(client, owner, private_script):
    client.force_login(owner)

    assert f'href="/?script={private_script.key}"' in client.get(f"/scripts/{private_script.key}/").content.decode()


@pytest.mark.django_db
def test_anonymous_visitors_get_a_sign_in_link_instead_of_saving(client):
    props = island_props(client.get("/"), "editor-props")

    assert props["user_authenticated"] is False
    assert props["urls"]["sign_in"] == "/accounts/login/?next=/"


def test_signed_in_users_get_the_save_and_script_page_urls(client, owner):
    client.force_login(owner)

    props = island_props(client.get("/"), "editor-props")

    assert props["user_authenticated"] is True
    assert props["urls"]["save_script"] == "/api/v1/scripts"
    assert props["urls"]["update_script"] == "/api/v1/scripts/__id__"
    assert props["urls"]["script_page"] == "/scripts/__id__/"
    assert [value for value, _ in props["visibilities"]] == ["private", "unlisted", "public"]
    assert props["csrf_token"]
