"""Saving the editor's buffer as a script, in a real browser against the real server: Save
writes back to the script the editor is bound to, Save as makes a new one and binds to it."""

import re

from playwright.sync_api import expect

from accounts.tests.live import live_user
from conftest import PASSWORD
from executions.tests.browser.editor_page import EditorPage

SCRIPT = "print('saved from the editor')"
KEY_IN_URL = re.compile(r"[?&]script=([\w-]+)")


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.account-form button[type=submit]")
    expect(page.get_by_role("link", name="Sign out")).to_be_visible()


def new_script_page(page, *, title: str, source: str, visibility: str = "private") -> str:
    """Save a script with the site's form; returns the address of its page."""
    page.goto("/scripts/new/")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Source").fill(source)
    page.get_by_label("Visibility").select_option(visibility)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_have_text(title)
    return page.url


def bound_key(page) -> str:
    return KEY_IN_URL.search(page.url).group(1)


def test_a_signed_in_user_saves_the_buffer_and_follows_the_link_to_the_script_page(page, daphne_server):
    live_user(daphne_server, "saver")
    sign_in(page, "saver")
    editor = EditorPage(page).open()
    editor.type_script(SCRIPT)

    page.get_by_label("Script title").fill("From the editor")
    page.get_by_label("Script title").press("Enter")  # the form submits from the keyboard

    link = page.get_by_role("link", name="Open “From the editor”")
    expect(link).to_be_visible()
    expect(page).to_have_url(KEY_IN_URL)  # the editor is now the new script's
    link.click()

    expect(page).to_have_url(re.compile(r"/scripts/[\w-]+/$"))
    expect(page.locator("h1")).to_have_text("From the editor")
    expect(page.locator("body")).to_contain_text(SCRIPT)
    expect(page.locator(".page-lead")).to_contain_text("Private — only you")


def test_save_writes_an_opened_script_back_and_save_as_makes_a_second_one_that_save_then_writes(page, daphne_server):
    live_user(daphne_server, "reviser")
    sign_in(page, "reviser")
    original = new_script_page(page, title="Greeting", source="print('v1')")
    page.get_by_role("link", name="Open in the editor").click()
    editor = EditorPage(page)
    expect(editor.code).to_have_text("print('v1')")
    expect(page.get_by_label("Script title")).to_have_value("Greeting")
    key = bound_key(page)

    editor.type_script("print('v2')")
    page.keyboard.press("ControlOrMeta+s")  # from inside the editor, as in an IDE
    expect(page.get_by_role("link", name="Open “Greeting”")).to_be_visible()
    assert bound_key(page) == key

    page.get_by_label("Visibility").select_option("public")
    page.get_by_role("button", name="Save as…").click()
    dialog = page.get_by_role("dialog", name="Save as a new script")
    dialog.get_by_label("Title of the new script").fill("Greeting, public")
    dialog.get_by_label("Title of the new script").press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("link", name="Open “Greeting, public”")).to_be_visible()
    copy_key = bound_key(page)
    assert copy_key != key

    editor.type_script("print('v3')")
    page.get_by_role("button", name="Save", exact=True).click()  # goes to the new script now
    expect(page.get_by_role("link", name="Open “Greeting, public”")).to_be_visible()

    page.goto(original)
    expect(page.locator("pre.code")).to_have_text("print('v2')")
    expect(page.locator(".page-lead")).to_contain_text("Private — only you")
    page.goto(f"/scripts/{copy_key}/")
    expect(page.locator("h1")).to_have_text("Greeting, public")
    expect(page.locator("pre.code")).to_have_text("print('v3')")
    expect(page.locator(".page-lead")).to_contain_text("Public — listed for everyone")


def test_someone_elses_script_is_saved_as_a_copy_of_ones_own(page, daphne_server):
    live_user(daphne_server, "author")
    live_user(daphne_server, "reader")
    sign_in(page, "author")
    shared = new_script_page(page, title="Shared", source="print('theirs')", visibility="public")
    page.context.clear_cookies()
    sign_in(page, "reader")
    page.goto(shared)
    page.get_by_role("link", name="Open in the editor").click()

    expect(page.get_by_text("This script is someone else's: Save makes a copy of your own.")).to_be_visible()
    page.keyboard.press("ControlOrMeta+s")  # from outside the editor too

    expect(page.get_by_role("link", name="Open “Shared”")).to_be_visible()
    assert f"/scripts/{bound_key(page)}/" not in shared
    page.goto(shared)
    expect(page.locator(".page-lead")).to_contain_text("by author")


def test_anonymous_visitors_see_a_sign_in_link_instead_and_the_shortcut_says_so(page):
    EditorPage(page).open()

    expect(page.get_by_role("link", name="Sign in to save scripts")).to_have_attribute(
        "href", "/accounts/login/?next=/"
    )
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    page.keyboard.press("ControlOrMeta+s")
    expect(page.get_by_role("alert")).to_have_text("Saving needs an account: sign in first.")
