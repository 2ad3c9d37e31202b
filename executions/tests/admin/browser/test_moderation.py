"""The admin's moderation path in a real browser against the real server: hide a script and
ban its owner, and the ban takes effect at once."""

import httpx
import pytest
from mongoengine.connection import get_connection
from playwright.sync_api import expect

from accounts.tests.live import live_tokens, live_user
from conftest import PASSWORD, wait_until
from executions.documents import Status
from integr8scode.mongo import connect

FOREVER = "import time\nwhile True:\n    time.sleep(0.1)\n"


@pytest.fixture
def api(daphne_server):
    with httpx.Client(base_url=daphne_server.url, timeout=30) as client:
        yield client


def run_action(page, changelist: str, search: str, action: str, reason: str) -> None:
    page.goto(f"{changelist}?q={search}")
    page.check("#result_list input[name=_selected_action]")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.fill("textarea[name=reason]", reason)
    page.click("input[name=apply]")


def test_an_admin_hides_a_script_and_bans_its_owner_with_immediate_effect(page, daphne_server, api):
    live_user(daphne_server, "villain")
    live_user(daphne_server, "chief", superuser=True)
    token = {"Authorization": f"Bearer {live_tokens(api, 'villain')['access_token']}"}
    script = api.post(
        "/api/v1/scripts", headers=token, json={"title": "Totally legit", "source": FOREVER, "visibility": "public"}
    ).json()
    running = api.post(f"/api/v1/scripts/{script['key']}/run", headers=token).json()["execution_id"]

    page.goto("/admin/login/")
    page.fill("input[name=username]", "chief")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    run_action(page, "/admin/scripts/script/", "villain", "hide", "Mines cryptocurrency")
    expect(page.locator(".messagelist")).to_contain_text("1 script(s) hidden.")
    run_action(page, "/admin/auth/user/", "villain", "ban", "Abuse of the sandboxes")
    expect(page.locator(".messagelist")).to_contain_text("1 user(s) lost access")

    # At once: the token is dead, the run is cancelled, the script is gone for everyone else.
    assert api.get("/api/v1/executions", headers=token).status_code == 401
    final = wait_until(lambda: _final(daphne_server, running), timeout=20, message="the banned user's run to stop")
    assert final["error_type"] == "cancelled"
    page.goto(f"/admin/executions/executionrecord/{running}/")
    expect(page.locator("#content-main")).to_contain_text("cancelled")
    assert api.get(f"/scripts/{script['key']}/").status_code == 404
    assert (
        api.post("/_allauth/app/v1/auth/login", json={"username": "villain", "password": PASSWORD}).status_code != 200
    )


def _final(server, execution_id: str) -> dict | None:
    # The live server uses its own database on this session's MongoDB server (connected here
    # too, should this test run alone).
    connect()
    stored = get_connection()[server.env["MONGODB_DB"]]["executions"].find_one({"_id": execution_id})
    return stored if stored and stored["status"] in Status.FINAL else None
