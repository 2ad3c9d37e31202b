"""The scripts API, ``/api/v1/scripts``, as a program with a token uses it."""

import pytest
from django.test import Client

from accounts.tests.helpers import bearer, obtain_tokens, post_json
from executions.services import SCRIPT_EMPTY
from scripts import services as script_services
from scripts.models import Script, Visibility

pytestmark = pytest.mark.django_db(transaction=True)  # runs read the ORM from worker threads


@pytest.fixture
def client():
    return Client()


@pytest.fixture
def as_owner(client, owner) -> dict:
    return bearer(obtain_tokens(client, owner)["access_token"])


@pytest.fixture
def as_other(client, other) -> dict:
    return bearer(obtain_tokens(client, other)["access_token"])


def create(client, headers, **fields):
    body = {"title": "Squares", "source": "print([i * i for i in range(4)])", **fields}
    return post_json(client, "/api/v1/scripts", body, **headers)


def test_saving_a_script_returns_it_with_its_key(client, as_owner, owner):
    response = create(client, as_owner, visibility="unlisted")

    assert response.status_code == 201
    body = response.json()
    assert (body["title"], body["visibility"], body["owner"], body["forked_from"]) == (
        "Squares",
        "unlisted",
        owner.username,
        None,
    )
    assert Script.objects.get(key=body["key"]).owner == owner


def test_anonymous_callers_cannot_save_scripts(client):
    response = create(client, {})

    assert response.status_code == 401
    assert response.json() == {"detail": script_services.SIGN_IN_REQUIRED}


def test_a_bad_script_is_a_422_with_the_reason(client, as_owner):
    response = create(client, as_owner, title=" ")

    assert response.status_code == 422 and response.json() == {"detail": script_services.TITLE_REQUIRED}


def test_my_scripts_lists_only_mine_most_recent_first(client, as_owner, owner, other, make_script):
    make_script(owner, title="older")
    make_script(owner, title="newer")
    make_script(other, title="theirs", visibility=Visibility.PUBLIC)

    body = client.get("/api/v1/scripts", headers=as_owner).json()

    assert [item["title"] for item in body["items"]] == ["newer", "older"]
    assert (body["page"], body["pages"], body["count"]) == (1, 1, 2)


def test_the_owner_changes_a_script_and_others_may_not(client, as_owner, as_other, owner, make_script):
    script = make_script(owner, visibility=Visibility.PUBLIC)
    path = f"/api/v1/scripts/{script.key}"

    changed = client.patch(path, data={"source": "print('v2')"}, content_type="application/json", headers=as_owner)
    refused = client.patch(path, data={"title": "stolen"}, content_type="application/json", headers=as_other)

    assert changed.status_code == 200 and changed.json()["source"] == "print('v2')"
    assert refused.status_code == 403 and refused.json() == {"detail": script_services.NOT_OWNER}


def test_the_editors_save_writes_every_field_of_the_owners_script(client, as_owner, owner, make_script):
    script = make_script(owner, title="Draft", visibility=Visibility.PRIVATE)
    body = {"title": "Final", "source": "print('v2')", "runtime": "python3.13", "visibility": "unlisted", "files": []}

    response = client.patch(f"/api/v1/scripts/{script.key}", body, content_type="application/json", headers=as_owner)

    assert response.status_code == 200
    assert {name: response.json()[name] for name in body} == body
    script.refresh_from_db()
    assert (script.title, script.source, script.visibility) == ("Final", "print('v2')", "unlisted")


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"title": "  "}, script_services.TITLE_REQUIRED),
        ({"source": "\n"}, SCRIPT_EMPTY),
        ({"title": "a\x00b"}, script_services.NUL_CHARACTER.format(field="title")),
    ],
    ids=["blank-title", "empty-source", "nul"],
)
def test_a_bad_change_is_a_422_with_the_reason_and_changes_nothing(
    client, as_owner, owner, make_script, change, detail
):
    script = make_script(owner, title="Kept", source="print('kept')")

    response = client.patch(f"/api/v1/scripts/{script.key}", change, content_type="application/json", headers=as_owner)

    assert response.status_code == 422 and response.json() == {"detail": detail}
    script.refresh_from_db()
    assert (script.title, script.source) == ("Kept", "print('kept')")


def test_an_unknown_visibility_is_a_422_naming_the_field(client, as_owner, owner, make_script):
    script = make_script(owner)

    response = client.patch(
        f"/api/v1/scripts/{script.key}", {"visibility": "friends"}, content_type="application/json", headers=as_owner
    )

    assert response.status_code == 422
    assert [error["loc"][-1] for error in response.json()["detail"]] == ["visibility"]


def test_anonymous_callers_cannot_change_a_public_script(client, owner, make_script):
    script = make_script(owner, visibility=Visibility.PUBLIC)

    response = client.patch(f"/api/v1/scripts/{script.key}", {"title": "x"}, content_type="application/json")

    assert response.status_code == 401 and response.json() == {"detail": script_services.SIGN_IN_REQUIRED}


def test_deleting_a_script(client, as_owner, owner, make_script):
    script = make_script(owner)

    response = client.delete(f"/api/v1/scripts/{script.key}", headers=as_owner)

    assert response.status_code == 204 and not Script.objects.filter(pk=script.pk).exists()


def test_forking_a_public_script(client, as_other, owner, other, make_script):
    script = make_script(owner, visibility=Visibility.PUBLIC)

    response = client.post(f"/api/v1/scripts/{script.key}/fork", headers=as_other)

    assert response.status_code == 201
    assert (response.json()["owner"], response.json()["forked_from"]) == (other.username, script.key)


def test_running_a_script_queues_an_execution_of_the_caller(client, as_other, owner, other, make_script):
    script = make_script(owner, visibility=Visibility.UNLISTED)

    response = post_json(client, f"/api/v1/scripts/{script.key}/run", {"stdin": "x"}, **as_other)

    assert response.status_code == 201
    assert (response.json()["owner_id"], response.json()["stdin"]) == (other.pk, "x")


def test_running_with_wait_returns_the_finished_execution(client, as_owner, owner, make_script, dispatcher):
    script = make_script(owner, source="print(6 * 7)")

    response = post_json(client, f"/api/v1/scripts/{script.key}/run?wait=true", {}, **as_owner)

    assert (response.json()["status"], response.json()["output"]) == ("completed", "42\n")


def test_a_scripts_executions_are_those_of_it_the_caller_may_see(client, as_owner, as_other, owner, make_script):
    script = make_script(owner, visibility=Visibility.PUBLIC)
    mine = post_json(client, f"/api/v1/scripts/{script.key}/run", {}, **as_owner).json()["execution_id"]
    post_json(client, f"/api/v1/scripts/{script.key}/run", {}, **as_other)

    listed = client.get(f"/api/v1/scripts/{script.key}/executions", headers=as_owner).json()

    assert [item["execution_id"] for item in listed["items"]] == [mine]


def test_a_browser_session_saves_scripts_with_its_csrf_token(owner):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    browser.get("/scripts/new/")

    response = create(browser, {"X-CSRFToken": browser.cookies["csrftoken"].value})

    assert response.status_code == 201


# --- input files ----------------------------------------------------------------------------


def test_a_script_keeps_its_files_and_every_run_of_it_gets_them(client, as_owner, dispatcher):
    files = [
        {"name": "data/in.txt", "content": "Ada\nGrace\n"},
        {"name": "raw.bin", "content": "AAEC", "encoding": "base64"},
    ]
    source = "print(open('data/in.txt').read().split(), open('raw.bin', 'rb').read())"
    created = create(client, as_owner, source=source, files=files, visibility="public").json()
    assert created["files"] == [{"name": "data/in.txt", "size": 10}, {"name": "raw.bin", "size": 3}]

    ran = post_json(client, f"/api/v1/scripts/{created['key']}/run?wait=true", {}, **as_owner).json()
    assert ran["output"] == "['Ada', 'Grace'] b'\\x00\\x01\\x02'\n"
    assert ran["input_files"] == created["files"]

    anonymous = post_json(client, f"/api/v1/scripts/{created['key']}/run?wait=true", {}).json()
    assert anonymous["output"] == ran["output"]  # whoever runs it gets its files


def test_an_anonymous_visitor_runs_a_script_with_more_files_than_they_could_give(client, as_owner, dispatcher):
    files = [{"name": f"f{n}.txt", "content": "x"} for n in range(15)]  # over the anonymous 10
    key = create(client, as_owner, source="import os; print(len(os.listdir('.')))", files=files, visibility="public")
    ran = post_json(client, f"/api/v1/scripts/{key.json()['key']}/run?wait=true", {})

    assert ran.status_code == 201 and ran.json()["output"] == "15\n"


def test_files_a_submission_could_not_give_are_refused_when_saving(client, as_owner):
    response = create(client, as_owner, files=[{"name": "../x", "content": "x"}])

    assert response.status_code == 422 and "is not a file name" in response.json()["detail"]


def test_changing_the_files_replaces_them_and_leaving_them_out_keeps_them(client, as_owner):
    key = create(client, as_owner, files=[{"name": "a.txt", "content": "a"}]).json()["key"]

    kept = client.patch(
        f"/api/v1/scripts/{key}", {"title": "Renamed"}, content_type="application/json", headers=as_owner
    )
    assert kept.json()["files"] == [{"name": "a.txt", "size": 1}]
    changed = client.patch(
        f"/api/v1/scripts/{key}",
        {"files": [{"name": "b.txt", "content": "bb"}]},
        content_type="application/json",
        headers=as_owner,
    )
    assert changed.json()["files"] == [{"name": "b.txt", "size": 2}]
