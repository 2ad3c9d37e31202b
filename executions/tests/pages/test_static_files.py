"""``/static/``: the app serves collected files itself, hashed ones cacheable for a year."""

import gzip

import pytest

from executions import views


@pytest.fixture
def static_root(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    (tmp_path / "islands" / "assets").mkdir(parents=True)
    (tmp_path / "islands" / "assets" / "editor-AbC123.js").write_text("export {};")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path.parent / "outside.txt").write_text("secret")
    return tmp_path


def test_a_hashed_island_file_is_immutable_for_a_year(client, static_root):
    response = client.get("/static/islands/assets/editor-AbC123.js")

    assert response.status_code == 200
    assert response.content == b"export {};"
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == views.IMMUTABLE_CACHE == "public, max-age=31536000, immutable"


def test_a_file_without_a_hash_is_cached_briefly(client, static_root):
    response = client.get("/static/favicon.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == views.BRIEF_CACHE


@pytest.mark.parametrize("path", ["missing.css", "islands/assets", "../outside.txt", "%2e%2e/outside.txt"])
def test_missing_files_and_paths_outside_the_static_root_are_404(client, static_root, path):
    assert client.get(f"/static/{path}").status_code == 404


def test_text_files_are_gzipped_for_clients_that_accept_it(client, static_root):
    (static_root / "islands" / "assets" / "big-XyZ.js").write_text("const x = 1;\n" * 1000)

    plain = client.get("/static/islands/assets/big-XyZ.js")
    gzipped = client.get("/static/islands/assets/big-XyZ.js", headers={"Accept-Encoding": "gzip, br"})

    assert "Content-Encoding" not in plain and plain.content == b"const x = 1;\n" * 1000
    assert gzipped["Content-Encoding"] == "gzip" and gzip.decompress(gzipped.content) == plain.content
    assert len(gzipped.content) < len(plain.content) / 10
    assert gzipped["Vary"] == "Accept-Encoding"
