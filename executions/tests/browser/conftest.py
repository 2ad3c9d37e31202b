"""Chromium (Debian's, driven by Playwright) against a real Daphne server."""

from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from conftest import BASE_DIR

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHROMIUM_MISSING = (
    "Chromium is not installed at /usr/bin/chromium: `sudo apt-get install chromium` (make test does it as root)."
)
ARTIFACTS = BASE_DIR / "test-artifacts"
EXPECT_TIMEOUT_MS = 15_000


# Package scope, not session: while Playwright's synchronous API is open it keeps an event
# loop running in the main thread, which breaks async_to_sync in every later test.
@pytest.fixture(scope="package")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(CHROMIUM_MISSING)
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, daphne_server):
    with page_on(chromium, daphne_server) as page:
        yield page


@contextmanager
def page_on(chromium, server):
    """A page of a fresh browser context on `server`, which fails the test on a JavaScript error
    or a Content-Security-Policy violation."""
    context = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(EXPECT_TIMEOUT_MS)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if _csp_violation(message) else None)
    yield page
    context.close()
    assert not errors, f"JavaScript errors or Content-Security-Policy violations on the page: {errors}"


def _csp_violation(message) -> bool:
    return message.type == "error" and "Content Security Policy" in message.text


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
