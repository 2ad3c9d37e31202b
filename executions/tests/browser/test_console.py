"""The output pane as a console: a learner's input() works in the editor, typed lines stay in
the transcript, Ctrl+D ends the input, the stdin box still gives batch input, and the
execution's own page can feed a run too."""

from playwright.sync_api import expect

from executions.tests.browser.editor_page import EditorPage

GREETING = 'name = input("Your name? ")\nprint(f"Hello, {name}!")'
SUM_ALL = 'import sys\nprint("ready", flush=True)\nprint(sum(int(line) for line in sys.stdin))'


def test_a_learners_input_prompt_takes_a_typed_line(page):
    editor = EditorPage(page).open()
    editor.type_script(GREETING)
    editor.run_button.click()

    line = page.get_by_test_id("console-input")
    expect(line).to_be_focused()  # in place, after the prompt, ready to type
    expect(editor.stdout).to_have_text("Your name? ")
    page.keyboard.type("Ada")
    page.keyboard.press("Enter")

    expect(editor.status).to_have_text("Completed")
    expect(editor.output).to_have_text("Your name? Ada\nHello, Ada!\n")  # the typed line echoes
    expect(page.locator("pre.output .stream-stdin")).to_have_text("Ada\n")
    expect(line).to_have_count(0)


def test_ctrl_d_ends_the_input(page):
    editor = EditorPage(page).open()
    editor.type_script(SUM_ALL)
    editor.run_button.click()

    line = page.get_by_test_id("console-input")
    for number in ("1", "2", "39"):
        expect(line).to_be_focused()
        page.keyboard.type(number)
        page.keyboard.press("Enter")
    expect(line).to_be_focused()
    page.keyboard.press("Control+d")

    expect(editor.status).to_have_text("Completed")
    expect(editor.output).to_have_text("ready\n1\n2\n39\n42\n")


def test_text_in_the_stdin_box_is_batch_input_with_no_console(page):
    editor = EditorPage(page).open()
    editor.type_script(SUM_ALL)
    page.get_by_text("Standard input (optional)").click()
    page.get_by_role("textbox", name="Standard input").fill("40\n2\n")
    editor.run_button.click()

    expect(editor.status).to_have_text("Completed")
    expect(editor.stdout).to_have_text("ready\n42\n")
    expect(page.get_by_test_id("console-input")).to_have_count(0)


def test_the_execution_page_feeds_a_run_that_waits(page, http):
    body = {"script": GREETING, "interactive": True}
    execution_id = http.post("/api/v1/executions", json=body).json()["execution_id"]
    page.goto(f"/executions/{execution_id}/")

    line = page.get_by_test_id("console-input")
    line.fill("Grace")
    line.press("Enter")

    expect(page.locator(".status-line .badge")).to_have_text("Completed")
    expect(page.locator("pre.output")).to_contain_text("Hello, Grace!")
