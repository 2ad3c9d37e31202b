"""Runtimes and files in the editor and on the execution page, in a real browser: choosing the
data runtime (remembered), giving files by the picker, and seeing a run's plot inline, its CSV
as a table, and a download link for each."""

from playwright.sync_api import expect

from executions.tests.browser.editor_page import EditorPage

IMAGE_LOADED = "image => image.complete && image.naturalWidth > 100"


def load_example(page, name):
    page.locator("#example-picker").select_option(label=name)


def test_the_plot_example_runs_in_the_data_runtime_and_shows_its_figure(page, artifacts):
    editor = EditorPage(page).open()
    load_example(page, "A matplotlib plot (data runtime)")

    expect(page.locator("#runtime-picker")).to_have_value("python3.13-data")
    expect(page.locator(".packages summary")).to_contain_text("packages")
    expect(page.locator(".input-files")).to_contain_text("weather.csv")
    editor.run_button.click()

    expect(editor.status).to_have_text("Completed", timeout=30000)
    figure = page.locator(".run-files img.file-image")
    expect(figure).to_have_count(1)
    figure.evaluate(IMAGE_LOADED)
    page.wait_for_function("() => document.querySelector('.run-files img').naturalWidth > 100")
    expect(page.get_by_role("link", name="figure-1.png")).to_have_attribute("download", "figure-1.png")
    page.screenshot(path=artifacts / "editor-plot.png", full_page=True)

    editor.permalink.click()
    page.wait_for_function("() => document.querySelector('.run-files img')?.naturalWidth > 100")


def test_the_table_example_shows_its_csv_as_a_table_here_and_on_its_page(page):
    editor = EditorPage(page).open()
    load_example(page, "A pandas table (data runtime)")
    editor.run_button.click()

    expect(editor.status).to_have_text("Completed", timeout=30000)
    table = page.locator(".run-files .file-table")
    expect(table.locator("th")).to_have_text(["city", "mean_temp", "total_rain"])
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(editor.stdout).to_contain_text("Rome")

    editor.permalink.click()
    expect(page.locator(".run-files .file-table tbody tr")).to_have_count(3)
    expect(page.get_by_role("link", name="summary.csv")).to_be_visible()


def test_files_given_by_the_picker_are_in_the_working_directory_and_the_runtime_is_remembered(page, tmp_path):
    given = tmp_path / "names.txt"
    given.write_text("Ada\nGrace\n")
    editor = EditorPage(page).open()
    page.locator("#runtime-picker").select_option("python3.13-data")
    editor.type_script("print(sorted(open('names.txt').read().split()))")
    page.locator(".input-files summary").click()
    page.locator(".input-files input[type=file]").set_input_files(str(given))
    expect(page.locator(".input-files")).to_contain_text("names.txt")

    editor.run_button.click()

    expect(editor.status).to_have_text("Completed", timeout=30000)
    expect(editor.stdout).to_have_text("['Ada', 'Grace']\n")
    expect(page.locator(".run-files")).to_have_count(0)  # an input left as it was is no output

    page.reload()
    expect(page.locator("#runtime-picker")).to_have_value("python3.13-data")


DROP_A_FILE = """() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(["x,y\\n1,2\\n"], "dropped.csv", { type: "text/csv" }));
    const zone = document.querySelector(".drop-zone");
    zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
}"""


def test_a_file_dropped_on_the_editor_is_given_to_the_run_and_can_be_removed(page):
    editor = EditorPage(page).open()
    editor.type_script("import os\nprint(open('dropped.csv').read().split())")
    page.locator(".input-files summary").click()

    page.evaluate(DROP_A_FILE)
    expect(page.locator(".input-files")).to_contain_text("dropped.csv")
    editor.run_button.click()

    expect(editor.status).to_have_text("Completed", timeout=30000)
    expect(editor.stdout).to_have_text("['x,y', '1,2']\n")
    page.get_by_role("button", name="Remove dropped.csv").click()
    expect(page.locator(".input-files")).not_to_contain_text("dropped.csv")


def test_a_small_text_file_is_previewed_and_a_large_binary_is_only_a_link(page):
    editor = EditorPage(page).open()
    editor.type_script("open('notes.txt', 'w').write('first line')\nopen('blob.bin', 'wb').write(bytes(5000))")
    editor.run_button.click()

    expect(editor.status).to_have_text("Completed", timeout=30000)
    expect(page.locator("[data-file='notes.txt'] .file-text")).to_have_text("first line")
    blob = page.locator("[data-file='blob.bin']")
    expect(blob.get_by_role("link", name="blob.bin")).to_be_visible()
    expect(blob.locator("img, table, pre")).to_have_count(0)
