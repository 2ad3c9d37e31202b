"""The editor in every language a server serves (RUNTIMES=all): the runtime picker switches the
editor's language support, its file name and examples; a saved script keeps its runtime; a
compiled language's failed build shows the compiler's messages and its line."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from accounts.tests.live import live_user
from conftest import BASE_DIR, LiveServer
from executions.tests.browser.conftest import page_on
from executions.tests.browser.editor_page import EditorPage
from executions.tests.browser.test_save_script import KEY_IN_URL, bound_key, sign_in

# runtime, its source file, its line comment, a word of its hello world
LANGUAGES = [
    ("bash", "main.sh", "#", "echo"),
    ("javascript", "main.js", "//", "console.log"),
    ("ruby", "main.rb", "#", "puts"),
    ("perl", "main.pl", "#", "print"),
    ("lua", "main.lua", "--", "print"),
    ("php", "main.php", "//", "echo"),
    ("c", "main.c", "//", "printf"),
    ("cpp", "main.cpp", "//", "std::cout"),
    ("go", "main.go", "//", "fmt.Println"),
    ("rust", "main.rs", "//", "println!"),
    ("java", "Main.java", "//", "System.out.println"),
    ("r", "main.R", "#", "cat"),
    ("haskell", "main.hs", "--", "putStrLn"),
]
# What says why a run did not complete, shown when one does not.
VERDICT = (
    *("status", "error_type", "error_message", "exit_code", "signal", "output", "errors"),
    *("compile_ms", "duration_ms", "cpu_ms", "peak_memory_kb", "flags"),
)
GREETINGS = "Hello, Ada!\nHello, Grace!\nHello, Linus!\n"
# The editor's examples of each language, as svelte-islands/src/lib/examples.js has them.
EXAMPLES_JS = BASE_DIR / "svelte-islands/src/lib/examples.js"
DUMP_EXAMPLES = (
    "import(process.argv[1]).then((examples) => console.log(JSON.stringify("
    "Object.fromEntries(process.argv.slice(2).map((name) => [name, examples.examplesFor(name)])))))"
)

pytestmark = pytest.mark.live_server


def editor_examples() -> list[tuple[str, dict]]:
    if not shutil.which("node"):
        return []
    runtimes = [runtime for runtime, *_ in LANGUAGES]
    dumped = subprocess.run(
        ["node", "-e", DUMP_EXAMPLES, EXAMPLES_JS.as_uri(), *runtimes], capture_output=True, text=True, check=True
    )
    return [(runtime, example) for runtime, examples in json.loads(dumped.stdout).items() for example in examples]


@pytest.fixture(scope="module")
def languages_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("languages"), env={"RUNTIMES": "all"}).start()
    yield server
    server.stop()


@pytest.fixture
def page(chromium, languages_server):
    with page_on(chromium, languages_server) as page:
        yield page


def choose(page, runtime: str) -> None:
    page.locator("#runtime-picker").select_option(runtime)


def example_names(page) -> list[str]:
    return page.locator("#example-picker option").all_inner_texts()[1:]  # after "Examples…"


def expect_examples(page, names: list[str]) -> None:
    expect(page.locator("#example-picker option")).to_have_text(["Examples…", *names])


@pytest.mark.parametrize(("runtime", "source_file", "comment", "hello"), LANGUAGES)
def test_choosing_a_runtime_switches_the_editors_language(page, runtime, source_file, comment, hello):
    editor = EditorPage(page).open()
    expect(page.locator("h1")).to_have_text("Run code")  # not Python alone
    expect(page.locator(".cm-editor")).to_have_attribute("data-language", "python")
    expect(page.get_by_test_id("source-file")).to_have_text("main.py")

    choose(page, runtime)

    expect(page.locator(".cm-editor")).to_have_attribute("data-language", runtime)
    expect(page.get_by_test_id("source-file")).to_have_text(source_file)
    expect(editor.code).to_contain_text(hello)  # the untouched example became this language's
    assert editor.code.locator(".cm-line span").count() > 0  # highlighted tokens
    expect_examples(page, ["Hello, world", "Read standard input"])
    # Comment toggling knows the language's comments.
    editor.code.locator(".cm-line").first.click()
    page.keyboard.press("Home")
    page.keyboard.press("ControlOrMeta+/")
    expect(editor.code.locator(".cm-line").first).to_have_text(re.compile("^" + re.escape(comment)))


def test_a_c_block_is_indented_as_c(page):
    editor = EditorPage(page).open()
    choose(page, "c")
    expect(page.locator(".cm-editor")).to_have_attribute("data-language", "c")
    editor.code.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    page.keyboard.type("int main(void) {")
    page.keyboard.press("Enter")
    page.keyboard.type("return 0;")

    expect(editor.code.locator(".cm-line").nth(1)).to_have_text(re.compile(r"^\s{2,}return 0;"))


def test_the_users_own_code_is_kept_on_a_switch_and_the_hello_world_is_offered(page):
    editor = EditorPage(page).open()
    editor.type_script("print('my own work')")

    choose(page, "ruby")

    expect(page.locator(".cm-editor")).to_have_attribute("data-language", "ruby")
    expect(editor.code).to_have_text("print('my own work')")
    offer = page.get_by_test_id("language-offer")
    expect(offer).to_contain_text("Your code is kept, highlighted as Ruby")
    offer.get_by_role("button", name="Replace it with Ruby's hello world").click()
    expect(editor.code).to_contain_text('puts "Hello, Integr8sCode!"')
    expect(offer).to_have_count(0)


def test_the_examples_follow_the_language_and_python_keeps_its_own(page):
    EditorPage(page).open()
    python_examples = example_names(page)
    assert "A pandas table (data runtime)" in python_examples

    choose(page, "go")
    expect_examples(page, ["Hello, world", "Read standard input"])
    choose(page, "python3.13")
    expect(page.locator(".cm-editor")).to_have_attribute("data-language", "python")
    expect_examples(page, python_examples)
    expect(EditorPage(page).code).to_contain_text('print("Hello, Integr8sCode!")')  # go's hello was untouched


@pytest.mark.parametrize("runtime", ["c", "ruby"])
def test_a_languages_stdin_example_runs(page, runtime):
    editor = EditorPage(page).open()
    choose(page, runtime)
    page.locator("#example-picker").select_option("Read standard input")
    expect(page.get_by_role("textbox", name="Standard input")).to_have_value("Ada\nGrace\nLinus\n")
    editor.run_button.click()

    expect(editor.status).to_have_text("Completed")
    expect(editor.stdout).to_have_text(GREETINGS)
    expect(editor.stderr).to_have_text("3 greetings\n")


def test_download_gives_the_script_as_its_source_file(page):
    editor = EditorPage(page).open()
    choose(page, "go")
    expect(editor.code).to_contain_text("fmt.Println")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download main.go").click()

    assert download.value.suggested_filename == "main.go"
    assert "package main" in Path(download.value.path()).read_text()


def test_a_saved_script_reopens_in_its_runtime(page, languages_server):
    live_user(languages_server, "polyglot")
    sign_in(page, "polyglot")
    editor = EditorPage(page).open()
    choose(page, "haskell")
    expect(editor.code).to_contain_text("putStrLn")
    page.get_by_label("Script title").fill("In Haskell")
    page.get_by_label("Script title").press("Enter")
    expect(page.get_by_role("link", name="Open “In Haskell”")).to_be_visible()
    expect(page).to_have_url(KEY_IN_URL)
    key = bound_key(page)

    choose(page, "python3.13")  # remembered as the last choice: the script's runtime must win
    page.evaluate("sessionStorage.clear()")
    page.goto(f"/?script={key}")

    expect(page.locator("#runtime-picker")).to_have_value("haskell")
    expect(page.locator(".cm-editor")).to_have_attribute("data-language", "haskell")
    expect(page.get_by_test_id("source-file")).to_have_text("main.hs")
    expect(editor.code).to_contain_text('main = putStrLn "Hello, Integr8sCode!"')


def test_a_failed_build_shows_the_compilers_messages_and_marks_the_line(page):
    editor = EditorPage(page).open()
    choose(page, "c")
    editor.type_script("int main(void) { return undeclared; }")
    editor.run_button.click()

    expect(editor.status).to_have_text("Failed")
    expect(editor.reason).to_have_text("Compile error")
    expect(editor.stderr).to_contain_text("error: ‘undeclared’ undeclared")
    expect(page.locator(".facts")).to_contain_text("Compile time")
    expect(page.locator(".cm-error-line")).to_have_count(1)


def test_a_compiled_programs_run_shows_its_compile_time(page):
    editor = EditorPage(page).open()
    choose(page, "cpp")
    expect(editor.code).to_contain_text("std::cout")
    editor.run_button.click()

    expect(editor.status).to_have_text("Completed")
    expect(editor.stdout).to_have_text("Hello, Integr8sCode!\n")
    fact = page.locator(".facts .fact", has_text="Compile time")
    expect(fact.locator("dd")).to_have_text(re.compile(r"^\d+ ms$|^\d+\.\d\d s$"))


@pytest.mark.parametrize(
    ("runtime", "example"), editor_examples(), ids=lambda value: value if isinstance(value, str) else value["name"]
)
def test_every_example_of_a_language_runs(languages_server, runtime, example):
    body = {"runtime": runtime, "script": example["script"], "stdin": example.get("stdin", "")}
    done = httpx.post(f"{languages_server.url}/api/v1/executions?wait=true", json=body, timeout=120).json()

    assert done["status"] == "completed", {key: done.get(key) for key in VERDICT}
    assert done["output"] == (GREETINGS if example.get("stdin") else "Hello, Integr8sCode!\n")
