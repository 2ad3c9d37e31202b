# The shared browser fixtures (Debian's Chromium through Playwright, against the live server).
from executions.tests.browser.conftest import artifacts, chromium, page  # noqa: F401
