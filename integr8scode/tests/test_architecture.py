"""The shape of the code, checked: no module of the project imports itself back through any
chain of imports (function-level imports included), on top of the import contracts that
`make lint` runs (pyproject.toml, [tool.importlinter]); and docs/architecture.md names every
module there is and no path there is not."""

import re
from pathlib import Path

import grimp

PACKAGES = ("accounts", "executions", "scripts", "integr8scode")


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan, iteratively)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_module_of_the_project_imports_itself_back():
    assert cycles(grimp.build_graph(*PACKAGES)) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for importer, imported in (("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")):
        graph.add_import(importer=importer, imported=imported)
    assert cycles(graph) == [["a", "b", "c"]]


# --- docs/architecture.md stays true -------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
TOP_LEVEL = ("integr8scode/", "executions/", "scripts/", "accounts/", "deploy/", "bench/", "templates/", "static/")
BOILERPLATE = ("__init__.py", "apps.py")  # every Django app has them; nothing to say
QUOTED_PATH = re.compile(r"`([\w./-]+/[\w./-]*)`")


def named_paths(text: str) -> set[str]:
    """The paths the document quotes from the top of the tree (`executions/engine/`, ...)."""
    return {path for path in QUOTED_PATH.findall(text) if path.startswith(TOP_LEVEL)}


def code_modules() -> set[Path]:
    """Every module of the apps' code: tests, migrations and package markers aside."""
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).parts
            if not ({"tests", "migrations", "commands"} & set(parts)) and path.name not in BOILERPLATE:
                found.add(path)
    return found


def test_every_path_the_architecture_document_quotes_exists():
    missing = [path for path in named_paths(ARCHITECTURE.read_text()) if not (ROOT / path).exists()]
    assert missing == []


def test_the_architecture_document_names_every_module():
    text = ARCHITECTURE.read_text()
    unnamed = sorted(str(path.relative_to(ROOT)) for path in code_modules() if path.name not in text)
    assert unnamed == []


def test_the_document_checks_find_what_they_look_for():
    assert ROOT / "executions" / "engine" / "dispatcher.py" in code_modules()
    assert named_paths("`executions/engine/` and `executions/orphan.py`, not `a/b`") == {
        "executions/engine/",
        "executions/orphan.py",
    }
