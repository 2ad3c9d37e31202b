"""Saving the editor's buffer as a script, in a real browser against the real server."""

import re

from playwright.sync_api import expect

from accounts.tests.live import live_user
from conftest import PASSWORD
from executions.tests.browser.editor_page import EditorPage

SCRIPT = "print('saved from the editor')"


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.account-form button[type=submit]")
    expect(page.get_by_role("link", name="Sign out")).to_be_visible()


def test_a_signed_in_user_saves_the_buffer_and_follows_the_link_to_the_script_page(page, daphne_server):
    live_user(daphne_server, "saver")
    sign_in(page, "saver")
    editor = EditorPage(page).open()
    editor.type_script(SCRIPT)

    page.get_by_label("Script title").fill("From the editor")
    page.get_by_label("Script title").press("Enter")  # the form submits from the keyboard

    link = page.get_by_role("link", name="Open “From the editor”")
    expect(link).to_be_visible()
    link.click()

    expect(page).to_have_url(re.compile(r"/scripts/[\w-]+/$"))
    expect(page.locator("h1")).to_have_text("From the editor")
    expect(page.locator("body")).to_contain_text(SCRIPT)


def test_anonymous_visitors_see_a_sign_in_link_instead(page):
    EditorPage(page).open()

    expect(page.get_by_role("link", name="Sign in to save scripts")).to_have_attribute(
        "href", "/accounts/login/?next=/"
    )
    expect(page.get_by_role("button", name="Save as script")).to_have_count(0)
