"""The site's two themes in a real browser: the system's by default, the header's toggle
remembered, applied before the first paint, followed by the editor, and readable in both."""

import pytest
from playwright.sync_api import expect

from executions.tests.browser.editor_page import EditorPage

LIGHT_BG = "rgb(245, 246, 248)"
DARK_BG = "rgb(13, 17, 23)"
LIGHT_SURFACE = "rgb(255, 255, 255)"
DARK_SURFACE = "rgb(22, 27, 34)"

BODY_BACKGROUND = "() => getComputedStyle(document.body).backgroundColor"
# The contrast of each element's text with the background it is drawn on (the first ancestor
# with an opaque one), as WCAG 2 computes it.
CONTRASTS = """(selectors) => {
    const rgb = (color) => color.match(/[\\d.]+/g).map(Number);
    const luminance = (color) => {
        const [r, g, b] = rgb(color).slice(0, 3).map((c) => {
            c /= 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const background = (element) => {
        for (let at = element; at; at = at.parentElement) {
            const color = getComputedStyle(at).backgroundColor;
            if ((rgb(color)[3] ?? 1) === 1) return color;
        }
        return "rgb(255, 255, 255)";
    };
    return Object.fromEntries(selectors.map((selector) => {
        const element = document.querySelector(selector);
        if (!element) return [selector, null];
        const [a, b] = [luminance(getComputedStyle(element).color), luminance(background(element))];
        return [selector, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
    }));
}"""
EDITOR_TEXT = [
    "body",
    ".page-lead",
    ".site-nav a",
    ".theme-toggle",
    ".hint",
    ".note a",
    ".button-run",
    ".select",
    ".cm-content",
    ".cm-gutterElement",
    ".tok-keyword, .cm-content span[class]",
]
EXECUTION_TEXT = [".badge-completed", ".fact dt", ".fact dd", ".details-list dt", "pre.code", ".output"]


@pytest.mark.parametrize(("scheme", "background"), [("light", LIGHT_BG), ("dark", DARK_BG)])
def test_the_site_follows_the_systems_colour_scheme(page, scheme, background):
    page.emulate_media(color_scheme=scheme)

    EditorPage(page).open()

    assert page.evaluate("document.documentElement.dataset.theme") == scheme
    assert page.evaluate(BODY_BACKGROUND) == background
    surface = LIGHT_SURFACE if scheme == "light" else DARK_SURFACE
    expect(page.locator(".cm-editor")).to_have_css("background-color", surface)
    pressed = "true" if scheme == "dark" else "false"
    expect(page.get_by_role("button", name="Dark theme")).to_have_attribute("aria-pressed", pressed)


def test_the_toggle_switches_the_page_and_the_editor_at_once_and_is_remembered(page):
    page.emulate_media(color_scheme="light")
    editor = EditorPage(page).open()
    editor.type_script("def f():\n    return None")
    keyword = page.locator(".cm-content span", has_text="def").first
    light_keyword = keyword.evaluate("(span) => getComputedStyle(span).color")
    gutter = page.locator(".cm-activeLineGutter").first
    light_gutter = gutter.evaluate("(line) => getComputedStyle(line).backgroundColor")

    page.get_by_role("button", name="Dark theme").click()

    expect(page.get_by_role("button", name="Dark theme")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate(BODY_BACKGROUND) == DARK_BG
    expect(page.locator(".cm-editor")).to_have_css("background-color", DARK_SURFACE)
    assert keyword.evaluate("(span) => getComputedStyle(span).color") != light_keyword
    # CodeMirror's own dark defaults too (its theme was reconfigured, not only recoloured).
    expect(gutter).not_to_have_css("background-color", light_gutter)

    page.reload()
    # Set before the first paint: already there when the document's own scripts run.
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate(BODY_BACKGROUND) == DARK_BG

    page.get_by_role("button", name="Dark theme").click()
    page.goto("/scripts/public/")  # another page: the choice is the site's
    assert page.evaluate(BODY_BACKGROUND) == LIGHT_BG


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_is_readable_in_both_themes(page, http, scheme):
    page.emulate_media(color_scheme=scheme)
    editor = EditorPage(page).open()
    editor.type_script("for word in ['spam']:\n    print(word)")
    contrasts = page.evaluate(CONTRASTS, EDITOR_TEXT)
    execution_id = http.post("/api/v1/executions?wait=true", json={"script": "print('hello')"}).json()["execution_id"]
    page.goto(f"/executions/{execution_id}/")
    contrasts |= page.evaluate(CONTRASTS, EXECUTION_TEXT)

    assert None not in contrasts.values(), contrasts
    assert {selector: ratio for selector, ratio in contrasts.items() if ratio < 4.5} == {}
