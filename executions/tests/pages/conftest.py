import pytest
from django.conf import settings
from django.test import Client

ISLANDS_NOT_BUILT = "The islands are not built ({path} is missing): run `make islands` (make test does it)."


@pytest.fixture(autouse=True)
def built_islands():
    """Pages include assets by the Vite manifest, which only the islands build writes."""
    manifest = settings.DJANGO_VITE["default"]["manifest_path"]
    if not manifest.exists():
        pytest.fail(ISLANDS_NOT_BUILT.format(path=manifest))


@pytest.fixture
def client():
    return Client()
