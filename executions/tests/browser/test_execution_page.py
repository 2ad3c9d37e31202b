"""The permanent page of an execution in a real browser: live while running, the same after a reload."""

import re

from playwright.sync_api import expect

from executions.tests.browser.editor_page import EditorPage

SLOW = (
    "import sys, time\nfor i in range(4):\n    print(i, flush=True)\n    time.sleep(0.4)\n"
    "print('warn', file=sys.stderr)"
)


def test_the_permanent_page_follows_a_running_execution_and_shows_the_same_after_a_reload(page, artifacts):
    editor = EditorPage(page).open()
    editor.type_script(SLOW)
    editor.run_button.click()
    expect(editor.stdout).to_contain_text("0")

    editor.permalink.click()

    result = EditorPage(page)  # the same result markup, rendered by the server and then the island
    expect(result.status).to_have_text("Completed")
    expect(result.stdout).to_have_text("0\n1\n2\n3\n")
    expect(result.stderr).to_have_text("warn\n")
    # The details outside the result follow too, without a reload: it has finished.
    finished = page.locator(".details-list dt", has_text="Finished").locator("xpath=following-sibling::dd[1]")
    expect(finished).not_to_have_text("—")
    expect(page).to_have_title(re.compile("Completed"))
    page.reload()
    expect(result.status).to_have_text("Completed")
    expect(result.stdout).to_have_text("0\n1\n2\n3\n")
    expect(result.stderr).to_have_text("warn\n")
    expect(page.locator("pre.code")).to_contain_text("for i in range(4):")
    page.screenshot(path=artifacts / "execution.png", full_page=True)


def test_the_permanent_page_opens_its_script_in_the_editor(page, http):
    execution_id = http.post("/api/v1/executions?wait=true", json={"script": "print('shared')"}).json()["execution_id"]
    page.goto(f"/executions/{execution_id}/")

    page.get_by_role("link", name="Open in the editor").click()

    expect(page.locator(".cm-content")).to_have_text("print('shared')")
