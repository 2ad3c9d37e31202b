"""How the store answers the reads a piece of code sends it: each find and count, with the
index the store itself says it narrows that read by (the embedded store explains a read by
its SQLite plan, and names none when it reads every stored document)."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mongoeco.engines.sqlite import SQLiteEngine
from pymongo.collection import Collection

NARROWED = re.compile(r"^SEARCH documents USING (?:COVERING )?INDEX (\S+) \(db_name=\? AND coll_name=\? AND ")


@dataclass
class Read:
    collection: Collection = field(repr=False)
    filter: dict
    explain: Callable[[], dict] = field(repr=False)

    def index(self) -> str | None:
        """The name of the index the read goes through, None when it reads every document.

        The embedded store keeps every database in one table, so a collection of the same name
        in another database (a live server's) has the same indexes over the same columns, and
        the planner may take either: both narrow the read the same way."""
        collection, client = self.collection, self.collection.database.client
        names = {
            SQLiteEngine._physical_index_name(None, database, collection.name, name): name
            for database in client.list_database_names()
            for name in client[database][collection.name].index_information()
        }
        for line in self.explain()["details"]["engine_details"]:
            if match := NARROWED.match(line):
                return names.get(match[1], match[1])
        return None


def record_reads(monkeypatch) -> list[Read]:
    """The finds and counts sent to the store from now on."""
    reads, find, count = [], Collection.find, Collection.count_documents

    def recorded_find(self, filter=None, *args, **kwargs):
        cursor = find(self, filter, *args, **kwargs)
        reads.append(Read(self, filter or {}, lambda: cursor.clone().explain()))  # with its sort and hint
        return cursor

    def recorded_count(self, filter, *args, **kwargs):
        reads.append(Read(self, filter, lambda: find(self, filter, hint=kwargs.get("hint")).explain()))
        return count(self, filter, *args, **kwargs)

    monkeypatch.setattr(Collection, "find", recorded_find)
    monkeypatch.setattr(Collection, "count_documents", recorded_count)
    return reads
