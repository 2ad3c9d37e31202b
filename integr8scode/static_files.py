"""Static files, served by ServeStatic (the asynchronous fork of WhiteNoise) from STATIC_ROOT.

``manage.py collectstatic`` (``make run`` does it) copies every file into STATIC_ROOT under a
name with a content hash, writes gzip and brotli copies beside each, and records the names in a
manifest that ``{% static %}`` and django-vite read. The middleware answers ``/static/`` on the
event loop, first in ``MIDDLEWARE``, before the synchronous stack and its thread hop.
"""

from servestatic.middleware import ServeStaticMiddleware
from servestatic.storage import CompressedManifestStaticFilesStorage

# Vite names every file it builds under this prefix with a content hash of its own
# (svelte-islands/vite.config.js), and its modules import one another by those names.
VITE_HASHED_PREFIX = "islands/assets/"
ONE_YEAR = 365 * 24 * 60 * 60


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """ServeStatic's compressed manifest storage, except that Vite's files keep Vite's names: a
    second hash would add nothing, and the modules that import them would miss them."""

    def hashed_name(self, name, content=None, filename=None):
        if name.startswith(VITE_HASHED_PREFIX):
            return name
        return super().hashed_name(name, content, filename)


class StaticFilesMiddleware(ServeStaticMiddleware):
    """ServeStatic's middleware: hashed names (Django's and Vite's) are immutable for a year,
    other files keep ``SERVESTATIC_MAX_AGE``, and every file says ``nosniff`` as pages do."""

    FOREVER = ONE_YEAR

    def immutable_file_test(self, path: str, url: str) -> bool:
        # The library's own test knows Django's hashes only, and SERVESTATIC_IMMUTABLE_FILE_TEST
        # is not consulted by its middleware.
        return url.startswith(self.static_prefix + VITE_HASHED_PREFIX) or super().immutable_file_test(path, url)

    def add_mime_headers(self, headers, path: str, url: str) -> None:
        super().add_mime_headers(headers, path, url)
        headers["X-Content-Type-Options"] = "nosniff"
