"""The SQLite backend (django-prometheus's, so queries are counted), knowing what it supports
without asking: Django probes JSON support with a query, which opens (and so creates) the
database file as soon as the system checks run — ``manage.py check`` on an empty VAR_DIR
would leave a database behind. SQLite has JSON built in since 3.38; older is refused.

The database's directory (VAR_DIR, by default) is made when the first connection opens, by
whichever command that is (``migrate``, on a fresh checkout): nothing makes it at import."""

import sqlite3
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import cached_property
from django_prometheus.db.backends.sqlite3 import base

JSON_BUILT_IN = (3, 38, 0)

if sqlite3.sqlite_version_info < JSON_BUILT_IN:
    raise ImproperlyConfigured(f"SQLite {sqlite3.sqlite_version} is too old: 3.38 or newer is needed (JSON)")


class DatabaseFeatures(base.DatabaseFeatures):
    @cached_property
    def supports_json_field(self) -> bool:
        return True


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures

    def get_new_connection(self, conn_params):
        database = str(conn_params["database"])
        if database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return super().get_new_connection(conn_params)
