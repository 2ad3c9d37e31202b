"""The editor in a real browser: typing, running, live output, failures, cancelling."""

import json
import re
from pathlib import Path

from playwright.sync_api import expect

from executions.services import SCRIPT_EMPTY
from executions.tests.browser.editor_page import EditorPage

SLOW = "import time\nfor i in range(3): print(i, flush=True); time.sleep(0.5)"
FAILING = "print('before')\nvalues = []\nprint(sum(values) / len(values))"
LONG = "import time\nprint('started', flush=True)\ntime.sleep(30)"
SCROLLED_TO_THE_END = """() => {
    const pane = document.querySelector("pre.output");
    return pane.scrollHeight > pane.clientHeight && pane.scrollHeight - pane.scrollTop - pane.clientHeight < 2;
}"""


FIRST_LINE_WHILE_RUNNING = """() => {
    const out = document.querySelector("pre.output .stream-stdout");
    const status = document.querySelector(".status-line .badge");
    return Boolean(out && status && out.textContent.startsWith("0\\n") && status.textContent.trim() === "Running");
}"""


def run_slow_script_with_the_shortcut(page) -> EditorPage:
    """Type SLOW, run it from the keyboard, see its first line while it runs, then all of it."""
    editor = EditorPage(page).open()
    editor.type_script(SLOW)

    page.keyboard.press("ControlOrMeta+Enter")

    # One look at both, so a slow browser cannot miss the moment: the first line is shown
    # while the status still says Running.
    page.wait_for_function(FIRST_LINE_WHILE_RUNNING, timeout=15000)
    expect(editor.status).to_have_text("Completed")
    expect(editor.stdout).to_have_text("0\n1\n2\n")
    return editor


def test_a_typed_script_run_with_the_shortcut_shows_its_first_line_before_it_finishes(page, artifacts):
    run_slow_script_with_the_shortcut(page)

    expect(page.locator(".fact", has_text="Exit code")).to_contain_text("0")
    expect(page.locator(".fact", has_text="Duration")).to_contain_text(" s")
    page.screenshot(path=artifacts / "editor.png", full_page=True)


def test_a_failing_script_shows_its_traceback_as_an_error_with_status_failed(page):
    editor = EditorPage(page).open()
    editor.type_script(FAILING)

    editor.run_button.click()

    expect(editor.status).to_have_text("Failed")
    expect(editor.reason).to_have_text("ZeroDivisionError: division by zero (line 3)")
    expect(editor.stdout).to_have_text("before\n")
    expect(editor.stderr).to_contain_text("Traceback (most recent call last)")
    expect(editor.stderr).to_contain_text("ZeroDivisionError: division by zero")
    expect(page.locator(".fact", has_text="Exit code")).to_contain_text("1")


def test_the_run_button_becomes_cancel_and_stops_a_long_run(page):
    editor = EditorPage(page).open()
    editor.type_script(LONG)
    editor.run_button.click()
    expect(editor.stdout).to_have_text("started\n")

    editor.cancel_button.click()

    expect(editor.status).to_have_text("Cancelled")  # not shown as a failure: nobody's error
    expect(editor.status).to_have_class(re.compile(r"\bbadge-cancelled\b"))
    expect(editor.status).to_have_attribute("data-status", "failed")
    expect(editor.reason).to_have_text("Cancelled on request.")
    expect(editor.run_button).to_be_enabled()
    expect(editor.run_button).to_be_focused()


def test_an_example_loads_into_the_editor_with_its_stdin(page):
    editor = EditorPage(page).open()

    page.get_by_role("combobox", name="Load an example").select_option(label="Read standard input")

    expect(editor.code).to_contain_text("sys.stdin")
    expect(page.get_by_role("textbox", name="Standard input")).to_have_value("Ada\nGrace\nGuido\n")
    page.keyboard.press("ControlOrMeta+Enter")
    expect(editor.stdout).to_have_text("Hello, Ada!\nHello, Grace!\nHello, Guido!\n")
    expect(editor.stderr).to_have_text("3 greetings\n")


def test_the_editor_page_fits_a_phone_screen(page, artifacts):
    page.set_viewport_size({"width": 375, "height": 740})
    editor = EditorPage(page).open()
    editor.run_button.click()
    expect(editor.status).to_have_text("Completed")

    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    page.screenshot(path=artifacts / "editor-phone.png", full_page=True)


def test_the_output_pane_follows_long_output_to_its_end(page):
    editor = EditorPage(page).open()
    editor.type_script("for i in range(300): print('line', i)")

    editor.run_button.click()

    expect(editor.stdout).to_contain_text("line 299")
    page.wait_for_function(SCROLLED_TO_THE_END)


def test_a_refused_submission_shows_the_servers_reason(page):
    editor = EditorPage(page).open()
    editor.type_script("   ")

    page.keyboard.press("ControlOrMeta+Enter")

    expect(page.get_by_role("alert")).to_have_text(SCRIPT_EMPTY)
    expect(editor.run_button).to_be_visible()


# Every WebSocket of the page is refused at its handshake (sent to a path the server has no
# WebSocket at), as behind a proxy that does not pass WebSockets through.
NO_WEBSOCKETS = """(() => {
    const Real = window.WebSocket;
    window.WebSocket = function (url, protocols) {
        return new Real(`ws://${window.location.host}/no-websockets-here/`, protocols);
    };
    window.WebSocket.prototype = Real.prototype;
})();"""


def test_without_websockets_a_run_goes_over_http_and_its_output_still_shows_as_it_comes(page):
    page.add_init_script(NO_WEBSOCKETS)

    # Polled from the API: later than over a WebSocket, but still before the script ends.
    editor = run_slow_script_with_the_shortcut(page)
    assert editor.stdout.inner_text() == "0\n1\n2\n"


def test_a_submission_whose_connection_drops_before_the_answer_is_followed_not_run_twice(page):
    accepted = []

    def drop_before_the_answer(ws):
        # The page's message reaches the server; the server's answer never reaches the page.
        server = ws.connect_to_server()
        server.on_message(lambda message: accepted.append(json.loads(message)) or ws.close())

    page.route_web_socket(re.compile(r"/ws/executions/$"), drop_before_the_answer)
    editor = EditorPage(page).open()
    editor.type_script("print('only once')")

    page.keyboard.press("ControlOrMeta+Enter")

    expect(editor.status).to_have_text("Completed")
    expect(editor.stdout).to_have_text("only once\n")
    first = accepted[0]["execution"]["execution_id"]  # what the server made of the lost submission
    expect(page.get_by_role("link", name="Permanent link")).to_have_attribute("href", f"/executions/{first}/")


COLOURED = "print('\\x1b[31mred\\x1b[0m plain \\x1b[1;32mbold green\\x1b[0m\\x1b[2K')"


def test_ansi_colours_are_rendered_and_copy_and_download_give_the_plain_text(page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    editor = EditorPage(page).open()
    editor.type_script(COLOURED)
    editor.run_button.click()

    expect(editor.stdout).to_have_text("red plain bold green\n")  # no escape shown raw
    expect(editor.output.locator(".ansi-fg-red")).to_have_text("red")
    expect(editor.output.locator(".ansi-fg-green.ansi-bold")).to_have_text("bold green")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == "red plain bold green\n"
    with page.expect_download() as download:
        page.get_by_role("button", name="Download", exact=True).click()  # the output's, not the script's
    assert download.value.suggested_filename == "output.txt"
    assert Path(download.value.path()).read_text() == "red plain bold green\n"


def test_a_draft_survives_a_reload_in_its_own_tab_only(page):
    editor = EditorPage(page).open()
    editor.type_script("print('my draft')")
    page.reload()
    editor.code.wait_for()
    expect(editor.code).to_have_text("print('my draft')")

    other_tab = page.context.new_page()
    other = EditorPage(other_tab).open()
    expect(other.code).not_to_contain_text("my draft")  # another tab starts from the example
    other_tab.close()


def test_a_visitor_sees_the_limits_beside_run_before_running(page):
    editor = EditorPage(page).open()
    hint = page.get_by_test_id("limits")
    # An editor run is interactive: its own wall cap (120 s anonymous), the CPU cap as any run's.
    expect(hint).to_have_text(
        re.compile(r"Each run: up to \d+ s of CPU, 120 s\s+in all and \d+ MiB \(sign in for more\)")
    )
    expect(hint.get_by_role("link", name="sign in")).to_be_visible()
    assert editor.run_button.is_visible()
    page.get_by_text("Standard input (optional)").click()
    page.get_by_role("textbox", name="Standard input").fill("batch")
    expect(hint).to_contain_text(re.compile(r"of CPU, 10 s\s+in all"))  # a batch run's wall cap


def test_a_touch_screen_gets_no_keyboard_hints(chromium, daphne_server):
    context = chromium.new_context(
        base_url=daphne_server.url, viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True
    )
    try:
        phone = context.new_page()
        editor = EditorPage(phone).open()
        assert phone.evaluate("matchMedia('(hover: none) and (pointer: coarse)').matches")
        expect(phone.locator(".hint")).to_be_hidden()
        expect(editor.run_button.locator("kbd")).to_be_hidden()
        expect(phone.locator(".placeholder")).to_contain_text("Press Run: the output appears here", use_inner_text=True)
    finally:
        context.close()


def test_a_desktop_keeps_its_keyboard_hints(page):
    editor = EditorPage(page).open()
    expect(page.locator(".hint")).to_be_visible()
    expect(editor.run_button.locator("kbd")).to_be_visible()


def test_on_a_phone_the_output_comes_into_view_after_run(page):
    page.set_viewport_size({"width": 375, "height": 740})
    editor = EditorPage(page).open()
    result = page.locator("section.pane", has=page.locator("#result-title"))
    assert result.bounding_box()["y"] > 740  # below the editor, out of view
    editor.run_button.click()
    expect(editor.status).to_have_text("Completed")
    page.wait_for_function(
        "() => { const r = document.getElementById('result-title').getBoundingClientRect(); "
        "return r.top >= 0 && r.top < window.innerHeight; }"
    )


# The 1-based numbers of the editor's lines with a class (CodeMirror draws the visible lines only;
# these scripts are short enough to be all visible).
LINES_WITH_CLASS = """(name) => [...document.querySelectorAll('.cm-content .cm-line')]
    .flatMap((line, index) => line.classList.contains(name) ? [index + 1] : [])"""
GUTTER_MARKER = ".cm-error-gutter .cm-gutterElement >> visible=true"  # not the gutter's hidden spacer


def marked_lines(page) -> list[int]:
    return page.evaluate(LINES_WITH_CLASS, "cm-error-line")


def cursor_line(page) -> int:
    [line] = page.evaluate(LINES_WITH_CLASS, "cm-activeLine")
    return line


def test_the_failing_line_is_marked_and_the_tracebacks_reference_goes_to_it(page, artifacts):
    editor = EditorPage(page).open()
    editor.type_script("x = 1\ny = 0\nprint(x / y)")
    page.keyboard.press("ControlOrMeta+Home")  # the cursor on line 1

    editor.run_button.click()

    expect(editor.reason).to_have_text("ZeroDivisionError: division by zero (line 3)")
    expect(page.locator(".cm-error-line")).to_have_count(1)
    assert marked_lines(page) == [3]
    expect(page.locator(GUTTER_MARKER, has_text="!")).to_have_count(1)
    page.screenshot(path=artifacts / "editor-error-line.png")
    link = editor.stderr.get_by_role("button", name='File "/sandbox/main.py", line 3')
    link.click()
    expect(editor.code).to_be_focused()
    assert cursor_line(page) == 3

    page.keyboard.type("  # edited")  # an edit clears the mark: the line may not mean that line any more
    expect(page.locator(".cm-error-line")).to_have_count(0)
    expect(page.locator(GUTTER_MARKER, has_text="!")).to_have_count(0)


def test_a_syntax_error_is_named_and_marked_and_only_the_scripts_frames_are_links(page):
    editor = EditorPage(page).open()
    editor.type_script("import json\n\njson.loads('{')\nprint(")
    page.keyboard.press("Delete")  # the bracket the editor closed by itself

    editor.run_button.click()

    expect(editor.reason).to_have_text("SyntaxError: '(' was never closed (line 4)")
    assert marked_lines(page) == [4]
    expect(editor.stderr.get_by_role("button")).to_have_text(['File "/sandbox/main.py", line 4'])

    editor.type_script("import json\n\njson.loads('{')")
    editor.run_button.click()

    expect(editor.reason).to_contain_text("JSONDecodeError")
    expect(editor.reason).to_contain_text("(line 3)")
    # The standard library's frames stay text: only the script's own lines can be gone to.
    expect(editor.stderr).to_contain_text(re.compile(r'File "/[^"]+/json/decoder\.py", line \d+'))
    expect(editor.stderr.get_by_role("button")).to_have_text(['File "/sandbox/main.py", line 3'])
    assert marked_lines(page) == [3]
