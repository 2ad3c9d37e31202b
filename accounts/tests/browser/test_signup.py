"""The whole journey of a new user in a real browser against the real server: sign up,
verify through the link printed to the console, save a script, run it, find it in the
history, then use the API with a JWT; and another user sees none of it."""

import re

import httpx
import pytest
from playwright.sync_api import expect

from accounts.tests.live import emailed_link, live_tokens, live_user
from conftest import PASSWORD


@pytest.fixture
def api(daphne_server):
    with httpx.Client(base_url=daphne_server.url, timeout=30) as client:
        yield client


def test_a_new_user_signs_up_verifies_saves_runs_and_uses_the_api(page, daphne_server, api):
    # Sign up; the verification email goes to the server's console.
    page.goto("/accounts/signup/")
    page.fill("input[name=email]", "journey@example.com")
    page.fill("input[name=username]", "journey")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("form.account-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Verify Your Email Address")

    page.goto(emailed_link(daphne_server, to="journey@example.com", path="/accounts/confirm-email/"))
    page.click("form.account-form button[type=submit]")

    # Sign in (a verified account may).
    page.goto("/accounts/login/")
    page.fill("input[name=login]", "journey")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.account-form button[type=submit]")
    page.goto("/accounts/api/")
    expect(page.locator("h1")).to_have_text("journey")

    # Save a script and run it.
    page.goto("/scripts/new/")
    page.fill("input[name=title]", "Journey")
    page.fill("textarea[name=source]", "print('made it', 6 * 7)")
    page.click("form.script-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Journey")
    script_key = page.url.rstrip("/").rsplit("/", 1)[-1]
    page.click("button:has-text('Run')")
    expect(page).to_have_url(re.compile(r"/executions/[0-9a-f]{32}/$"))
    execution_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.locator("body")).to_contain_text("made it 42", timeout=30_000)

    # It is in the history.
    page.goto("/history/")
    expect(page.locator(f"a[href='/executions/{execution_id}/']")).to_be_visible()

    # A JWT gets the same history through the API.
    token = live_tokens(api, "journey")["access_token"]
    history = api.get("/api/v1/executions", headers={"Authorization": f"Bearer {token}"}).json()
    assert history["items"][0]["execution_id"] == execution_id

    # Another user sees none of it.
    live_user(daphne_server, "onlooker")
    theirs = {"Authorization": f"Bearer {live_tokens(api, 'onlooker')['access_token']}"}
    assert api.get(f"/api/v1/scripts/{script_key}", headers=theirs).status_code == 404
    assert api.get(f"/api/v1/executions/{execution_id}", headers=theirs).status_code == 404
    assert api.get("/api/v1/executions", headers=theirs).json()["items"] == []
    assert api.get(f"/executions/{execution_id}/").status_code == 404
