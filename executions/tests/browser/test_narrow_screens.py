"""On a phone (375 px wide) the pages with tables fit the screen: a table scrolls by itself
instead of widening the page."""

import httpx
import pytest

from accounts.tests.live import live_tokens, live_user
from executions.tests.browser.test_save_script import sign_in

PHONE = {"width": 375, "height": 740}
PAGE_WIDTH = "() => document.documentElement.scrollWidth"


@pytest.fixture
def phone_with_rows(page, daphne_server):
    """A signed-in phone, with a public script that has run twice and an unlisted one (its page
    shows its link to share)."""
    live_user(daphne_server, "pocket")
    with httpx.Client(base_url=daphne_server.url, timeout=30) as api:
        token = {"Authorization": f"Bearer {live_tokens(api, 'pocket')['access_token']}"}
        script = api.post(
            "/api/v1/scripts",
            headers=token,
            json={"title": "A script with a rather long title to show", "source": "print(1)", "visibility": "public"},
        ).json()
        unlisted = api.post(
            "/api/v1/scripts", headers=token, json={"title": "Shared", "source": "print(2)", "visibility": "unlisted"}
        ).json()
        for key in (script["key"], script["key"], unlisted["key"]):
            api.post(f"/api/v1/scripts/{key}/run", headers=token).raise_for_status()
    page.set_viewport_size(PHONE)
    sign_in(page, "pocket")
    return page, [script["key"], unlisted["key"]]


def test_the_history_and_script_pages_fit_a_phone(phone_with_rows):
    page, keys = phone_with_rows

    for path in ("/history/", "/scripts/", "/scripts/public/", *(f"/scripts/{key}/" for key in keys)):
        page.goto(path)
        assert page.locator("table.listing tbody tr").count() >= 1, path
        assert page.evaluate(PAGE_WIDTH) <= PHONE["width"], path
