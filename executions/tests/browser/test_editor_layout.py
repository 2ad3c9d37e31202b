"""The editor page's layout, as each visitor sets it: the panes' widths and the text size, kept in the
browser."""

import pytest
from playwright.sync_api import expect

from executions.tests.browser.editor_page import EditorPage


def test_the_separator_resizes_the_panes_by_mouse_and_by_keyboard_and_the_width_is_remembered(page):
    EditorPage(page).open()
    script = page.locator("#script-pane")
    result = page.locator("section.pane", has=page.locator("#result-title"))
    separator = page.get_by_role("separator", name="Width of the script pane")
    script_width, result_width = script.bounding_box()["width"], result.bounding_box()["width"]
    grip = separator.bounding_box()
    x, y = grip["x"] + grip["width"] / 2, grip["y"] + 40

    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 300, y, steps=6)
    page.mouse.up()

    narrower = script.bounding_box()["width"]
    assert narrower < script_width - 250
    assert result.bounding_box()["width"] > result_width + 250
    page.reload()
    expect(separator).to_be_visible()
    assert abs(script.bounding_box()["width"] - narrower) < 2

    share = int(separator.get_attribute("aria-valuenow"))
    separator.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(separator).to_have_attribute("aria-valuenow", str(share + 10))
    assert script.bounding_box()["width"] > narrower + 100


def test_on_a_phone_the_panes_are_stacked_and_there_is_nothing_to_drag(page):
    page.set_viewport_size({"width": 375, "height": 740})
    EditorPage(page).open()

    expect(page.get_by_role("separator")).to_be_hidden()


def font_size(page, selector: str) -> float:
    return page.locator(selector).evaluate("(element) => parseFloat(getComputedStyle(element).fontSize)")


def test_the_text_size_of_the_editor_and_the_output_is_set_with_a_minus_and_a_plus_and_remembered(page):
    editor = EditorPage(page).open()
    editor.type_script("print('sized')")
    editor.run_button.click()
    expect(editor.stdout).to_have_text("sized\n")
    code, output = font_size(page, ".cm-content"), font_size(page, "pre.output")
    sizes = page.get_by_role("group", name="Text size")
    larger = page.get_by_role("button", name="Larger text")

    larger.click()
    larger.click()

    expect(sizes).to_contain_text("125%")
    assert font_size(page, ".cm-content") == pytest.approx(code * 1.25, abs=0.1)
    assert font_size(page, "pre.output") == pytest.approx(output * 1.25, abs=0.1)
    page.reload()
    expect(sizes).to_contain_text("125%")
    assert font_size(page, ".cm-content") == pytest.approx(code * 1.25, abs=0.1)

    smaller = page.get_by_role("button", name="Smaller text")
    for _ in range(4):
        smaller.click()
    expect(sizes).to_contain_text("80%")
    expect(smaller).to_have_attribute("aria-disabled", "true")
    expect(smaller).to_be_focused()  # still: it was not disabled under the keyboard
    page.keyboard.press("Enter")
    expect(sizes).to_contain_text("80%")  # the smallest
    assert font_size(page, ".cm-content") == pytest.approx(code * 0.8, abs=0.1)
