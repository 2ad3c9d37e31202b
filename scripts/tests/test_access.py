"""Object-level authorization with three users (owner, another user, an admin) and anonymous
visitors, the same on the pages, the API and the WebSocket: what one may not see is a 404
(or a closed socket), never a 403, so keys and ids do not leak."""

import asyncio

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from accounts.tests.helpers import bearer, obtain_tokens
from executions.consumers import NOT_FOUND_CLOSE_CODE, ExecutionConsumer
from executions.tests.factories import make_execution
from scripts.models import Visibility
from scripts.services import script_hide

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_store")]

WHO = ("owner", "other", "admin", "anonymous")
SCRIPT_CASES = {
    # case: who sees it
    "private": {"owner", "admin"},
    "unlisted": set(WHO),
    "public": set(WHO),
    "hidden": {"owner", "admin"},
}
EXECUTION_CASES = {"owned": {"owner", "admin"}, "anonymous": set(WHO)}


@pytest.fixture
def users(owner, other, admin_user):
    return {"owner": owner, "other": other, "admin": admin_user, "anonymous": None}


@pytest.fixture
def scripts(owner, admin_user, make_script):
    made = {
        case: make_script(owner, title=case, visibility=case if case != "hidden" else Visibility.PUBLIC)
        for case in SCRIPT_CASES
    }
    script_hide(script=made["hidden"], moderator=admin_user, reason="abuse")
    return made


@pytest.fixture
def executions(owner):
    return {"owned": make_execution(owner_id=owner.pk), "anonymous": make_execution()}


def page_client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def api_headers(user) -> dict:
    return bearer(obtain_tokens(Client(), user)["access_token"]) if user is not None else {}


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("case", SCRIPT_CASES)
def test_a_script_page_shows_only_to_those_who_may_see_it(users, scripts, who, case):
    response = page_client(users[who]).get(f"/scripts/{scripts[case].key}/")

    assert response.status_code == (200 if who in SCRIPT_CASES[case] else 404)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("case", SCRIPT_CASES)
def test_a_script_in_the_api_shows_only_to_those_who_may_see_it(users, scripts, who, case):
    response = Client().get(f"/api/v1/scripts/{scripts[case].key}", headers=api_headers(users[who]))

    assert response.status_code == (200 if who in SCRIPT_CASES[case] else 404)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("case", EXECUTION_CASES)
def test_an_execution_page_shows_only_to_those_who_may_see_it(users, executions, who, case):
    response = page_client(users[who]).get(f"/executions/{executions[case].execution_id}/")

    assert response.status_code == (200 if who in EXECUTION_CASES[case] else 404)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("case", EXECUTION_CASES)
@pytest.mark.parametrize("path", ["/api/v1/executions/{}", "/result/{}"])
def test_an_execution_in_the_api_shows_only_to_those_who_may_see_it(users, executions, who, case, path):
    response = Client().get(path.format(executions[case].execution_id), headers=api_headers(users[who]))

    assert response.status_code == (200 if who in EXECUTION_CASES[case] else 404)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("case", EXECUTION_CASES)
def test_an_executions_websocket_opens_only_for_those_who_may_see_it(users, executions, who, case):
    execution_id = executions[case].execution_id

    accepted, close_code = asyncio.run(connect(execution_id, users[who] or AnonymousUser()))

    assert accepted == (who in EXECUTION_CASES[case])
    if not accepted:
        assert close_code == NOT_FOUND_CLOSE_CODE


async def connect(execution_id: str, user) -> tuple[bool, int | None]:
    communicator = WebsocketCommunicator(ExecutionConsumer.as_asgi(), f"/ws/executions/{execution_id}/")
    communicator.scope["user"] = user
    communicator.scope["url_route"] = {"args": (), "kwargs": {"execution_id": execution_id}}
    accepted, close_code = await communicator.connect(timeout=5)
    await communicator.disconnect()
    return accepted, close_code


def test_another_users_cancel_of_an_owned_execution_is_a_404(other, executions):
    response = Client().post(
        f"/api/v1/executions/{executions['owned'].execution_id}/cancel", headers=api_headers(other)
    )

    assert response.status_code == 404


def test_the_public_list_holds_only_active_public_scripts(scripts):
    titles = [item["title"] for item in Client().get("/api/v1/scripts/public").json()["items"]]

    assert titles == ["public"]


def test_a_banned_owners_shared_scripts_disappear_for_others(users, scripts):
    from accounts.services import account_ban

    account_ban(user=users["owner"], reason="spam")

    assert page_client(users["other"]).get(f"/scripts/{scripts['public'].key}/").status_code == 404
    assert Client().get("/api/v1/scripts/public").json()["items"] == []
    assert page_client(users["admin"]).get(f"/scripts/{scripts['public'].key}/").status_code == 200


def test_others_histories_never_hold_the_owners_executions(users, executions):
    for who in ("other", "admin"):
        listed = Client().get("/api/v1/executions", headers=api_headers(users[who])).json()
        assert listed["items"] == []
        assert executions["owned"].execution_id not in page_client(users[who]).get("/history/").content.decode()
