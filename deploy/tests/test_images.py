"""The runtime images of the other languages: one Dockerfile, built per language by the
workflow with that language's Debian packages, checked for the commands the runner starts."""

import json
from pathlib import Path

import yaml

from executions.runners.languages import BUILD_DIR, LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
DOCKERFILE = ROOT / "deploy" / "images" / "runtime-language.Dockerfile"


def matrix() -> dict[str, dict]:
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["language-images"]
    return {entry["runtime"]: entry for entry in job["strategy"]["matrix"]["include"]}


def test_the_workflow_builds_an_image_for_every_language():
    assert sorted(matrix()) == sorted(language.runtime for language in LANGUAGES)


def test_each_image_gets_its_languages_packages_commands_and_version_probe():
    built = matrix()
    for language in LANGUAGES:
        entry = built[language.runtime]
        assert entry["packages"].split() == list(language.packages), language.runtime
        started = [
            language.command(template, resolve=False)[0] for template in (language.build, language.run) if template
        ]
        assert entry["tools"].split() == list(dict.fromkeys(tool for tool in started if not tool.startswith(BUILD_DIR)))
        assert json.loads(entry["version"]) == language.command(language.version, resolve=False)
        assert entry["pattern"] == language.version_pattern


def test_the_dockerfile_installs_the_packages_it_is_given_on_the_same_debian():
    text = DOCKERFILE.read_text()
    assert "ARG PACKAGES" in text and "apt-get install -y --no-install-recommends $PACKAGES" in text
    assert text.count("FROM python:3.13-slim-bookworm") == 2  # Debian 12, as the toolchains the tests run
    assert "/opt/integr8scode/entry.py" in text and "/opt/integr8scode/filter.bpf" in text
    assert "USER 65532:65532" in text
