"""The editor page's layout, as each visitor sets it: the panes' widths, kept in the browser."""

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

