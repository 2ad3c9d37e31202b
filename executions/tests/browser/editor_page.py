"""The editor page as a person uses it, for the browser tests."""

from playwright.sync_api import Page


class EditorPage:
    def __init__(self, page: Page):
        self.page = page
        self.code = page.locator(".cm-content")
        self.run_button = page.get_by_role("button", name="Run")
        self.cancel_button = page.get_by_role("button", name="Cancel")
        self.status = page.locator(".status-line .badge")
        self.reason = page.locator(".failure-reason")
        self.output = page.locator("pre.output")
        self.stdout = page.locator("pre.output .stream-stdout")
        self.stderr = page.locator("pre.output .stream-stderr")
        self.permalink = page.get_by_role("link", name="Permanent link")

    def open(self) -> "EditorPage":
        self.page.goto("/")
        self.code.wait_for()
        return self

    def type_script(self, script: str) -> None:
        """Replace the editor's text by typing it. Each line is typed as written: the
        automatic indentation after Enter is removed first, and Escape closes a completion
        popup so that Enter starts a new line instead of accepting a completion."""
        self.code.click()
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.press("Delete")
        for number, line in enumerate(script.splitlines()):
            if number:
                self.page.keyboard.press("Escape")
                self.page.keyboard.press("Enter")
                self.page.keyboard.press("Shift+Home")
                self.page.keyboard.press("Delete")
            self.page.keyboard.type(line)
