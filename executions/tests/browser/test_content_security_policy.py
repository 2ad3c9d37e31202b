"""Pages that are not the islands' run under the same Content-Security-Policy without breaking
(the page fixture fails a test on any violation)."""

from playwright.sync_api import expect


def test_the_api_docs_render_under_the_policy(page):
    response = page.goto("/api/docs")

    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("#swagger-ui .info .title")).to_contain_text("Integr8sCode")
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible()


def test_the_admin_sign_in_page_renders_under_the_policy(page):
    page.goto("/admin/login/")

    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.locator("#header")).to_be_visible()
