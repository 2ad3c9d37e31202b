"""``/static/``: ServeStatic serves what collectstatic put into STATIC_ROOT: hashed names (Django's
and Vite's) immutable for a year, other names for an hour, gzip or brotli for clients that take
them, and nothing outside the root."""

import gzip
import re
import shutil

import brotli
import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.management import call_command
from django.templatetags.static import static
from django.test import AsyncClient, Client, override_settings

from conftest import BASE_DIR
from integr8scode.static_files import ONE_YEAR

IMMUTABLE = f"max-age={ONE_YEAR}, public, immutable"
BRIEF = "max-age=3600, public"
BUNDLE = "const answer = 42;\n" * 1000
ISLAND = "/static/islands/assets/editor-AbC123.js"
ASSET_URL = re.compile(r'(?:src|href)="(/static/[^"]+)"')


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """The site's own static files and a bundle of ours, collected as `make run` collects them
    (hashed names, gzip and brotli copies) into a STATIC_ROOT apart from the session's; the
    settings that lead there."""
    tmp = tmp_path_factory.mktemp("static")
    source = tmp / "source"
    shutil.copytree(BASE_DIR / "static", source)  # what every page links, the 404 page too
    (source / "islands" / "assets" / "editor-AbC123.js").write_text(BUNDLE)
    (source / "islands" / "assets" / "editor-AbC123.js.map").write_text(BUNDLE)
    (tmp / "outside.txt").write_text("secret")
    overrides = {
        "STATICFILES_DIRS": [source],
        "STATIC_ROOT": tmp / "root",
        "STATICFILES_FINDERS": ["django.contrib.staticfiles.finders.FileSystemFinder"],
    }
    with override_settings(**overrides):
        call_command("collectstatic", interactive=False, verbosity=0)
    return overrides


@pytest.fixture
def static_root(settings, collected):
    for name, value in collected.items():
        setattr(settings, name, value)
    return settings.STATIC_ROOT


def body(response) -> bytes:
    return b"".join(response)  # the file, read as a synchronous server would


def test_a_file_vite_named_with_its_hash_is_immutable_for_a_year(client, static_root):
    response = client.get(ISLAND)

    assert response.status_code == 200
    assert body(response) == BUNDLE.encode()
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == IMMUTABLE


def test_vite_files_keep_their_names_when_collected(static_root):
    assert static("islands/assets/editor-AbC123.js") == ISLAND
    assert (static_root / "islands" / "assets" / "editor-AbC123.js").is_file()


def test_other_files_get_a_hashed_name_that_is_immutable_for_a_year(client, static_root):
    url = static("favicon.svg")

    response = client.get(url)

    assert re.fullmatch(r"/static/favicon\.[0-9a-f]{12}\.svg", url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert response["Cache-Control"] == IMMUTABLE


def test_a_name_without_a_hash_is_cached_for_an_hour(client, static_root):
    response = client.get("/static/favicon.svg")

    assert response.status_code == 200
    assert response["Cache-Control"] == BRIEF


@pytest.mark.parametrize(
    ("accepted", "encoding", "decompress"),
    [
        ("gzip", "gzip", gzip.decompress),
        ("gzip, deflate, br", "br", brotli.decompress),
    ],
)
def test_text_is_compressed_for_clients_that_accept_it(client, static_root, accepted, encoding, decompress):
    plain = client.get(ISLAND)
    compressed = client.get(ISLAND, headers={"Accept-Encoding": accepted})

    assert "Content-Encoding" not in plain
    assert compressed["Content-Encoding"] == encoding
    assert decompress(body(compressed)) == body(plain)
    assert len(body(compressed)) < len(BUNDLE) / 10
    assert compressed["Vary"] == "Accept-Encoding"


def test_source_maps_are_left_uncompressed_as_only_developer_tools_read_them(static_root):
    assets = static_root / "islands" / "assets"

    assert (assets / "editor-AbC123.js.gz").is_file() and (assets / "editor-AbC123.js.br").is_file()
    assert not list(assets.glob("*.map.*"))


def test_static_files_say_nosniff_as_pages_do(client, static_root):
    assert client.get("/static/favicon.svg")["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "missing.css",
        "islands/assets",
        "islands/assets/",
        "../outside.txt",
        "%2e%2e/outside.txt",
        "islands/../../outside.txt",
    ],
)
def test_missing_files_and_paths_outside_the_static_root_are_404(client, static_root, path):
    assert client.get(f"/static/{path}").status_code == 404


def test_static_files_are_answered_before_the_synchronous_middleware(settings, static_root):
    reached = []
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.record_reaching"]
    record_reaching.calls = reached

    response = async_to_sync(AsyncClient().get)(ISLAND)

    assert response.status_code == 200 and response["Cache-Control"] == IMMUTABLE
    assert reached == []
    assert settings.MIDDLEWARE[0] == "integr8scode.static_files.StaticFilesMiddleware"


def record_reaching(get_response):
    def middleware(request):
        record_reaching.calls.append(request.path)
        return get_response(request)

    return middleware


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/", "/admin/login/", "/api/docs", "/accounts/login/"])
def test_every_asset_a_page_names_is_served_and_immutable(page):
    """Through the session's collected STATIC_ROOT: the manifest, django-vite and the middleware agree."""
    client = Client()
    html = client.get(page).content.decode()
    assets = ASSET_URL.findall(html)

    assert assets, f"{page} names no static file"
    for url in assets:
        response = client.get(url)
        assert (url, response.status_code, response["Cache-Control"]) == (url, 200, IMMUTABLE)


def test_the_session_collected_static_files_into_its_own_root():
    assert str(settings.STATIC_ROOT).startswith(str(settings.VAR_DIR))
    assert (settings.STATIC_ROOT / "staticfiles.json").is_file()
