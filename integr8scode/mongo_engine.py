"""The embedded store's engine: mongoeco's SQLite engine, minus scans this application
never needs.

mongoeco answers some questions by scanning every document of a collection, so their cost
grows with every execution ever stored:
- on insert, it compares the new ``_id`` with every stored one, in case a numeric id equals
  one of another numeric type. Our ids are strings: the storage-key lookup it makes first
  already decides uniqueness.
- a query, update or find-and-modify whose filter names the ``_id`` *and* another field
  (every conditional transition of the queue: ``{_id, status: "queued"}``), or a list of
  ``_id`` values (the quota check's ``{_id: {$in: [...]}}``), is compiled to SQL that scans
  the collection, and so is even a lone ``_id`` when more than one result is asked for
  (mongoengine's ``get()`` asks for two) or when no document has it (every probe for an
  unknown id). At 3,000 stored executions such an update cost 18 ms. Here the ``_id`` values
  pick the candidates by key and mongoeco's own matcher checks the whole filter on each.
- before a query or update, it checks whether any stored document holds a decimal or a
  top-level array in the queried fields (and forgets the answer after every write). Our
  documents never store decimals, and none of the fields we query hold arrays.
The overrides keep their answers exact for the documents this application writes; the
tests in ``integr8scode/tests/test_mongo_engine.py`` hold them to it.

Operations run on the server's event loop rather than in a one-thread pool: the store has a
process of its own (``integr8scode.mongo_server``) and a single SQLite connection, so the
hand-off to a worker thread and back only added latency.

It also does not deliver change-stream events: after every committed write mongoeco would
take a dispatch lease (two SQLite writes) and start and join a heartbeat thread, which under
concurrent load serialises every write behind thread start-ups. This application never opens
a change stream (live output travels through the channel layer), so the engine's bounded
outbox (``CHANGE_OUTBOX_ENTRIES``) is simply never read.
"""

import contextvars
import functools
import itertools

from mongoeco.core.filtering import QueryEngine
from mongoeco.core.projections import apply_projection
from mongoeco.core.query_plan import AndCondition, EqualsCondition, InCondition
from mongoeco.engines._sqlite_connection import sqlite_read_scope
from mongoeco.engines.sqlite import SQLiteEngine


CHANGE_OUTBOX_ENTRIES = 100
ID_LOOKUP = "SELECT storage_key, document FROM documents WHERE db_name = ? AND coll_name = ? AND storage_key = ?"


class EmbeddedEngine(SQLiteEngine):
    def __init__(self, path: str, **options):
        super().__init__(path, change_outbox_max_entries=CHANGE_OUTBOX_ENTRIES, **options)

    async def _run_blocking(self, func, /, *args, **kwargs):
        # In the server's own process every operation would hop to a worker thread and back;
        # with one SQLite connection they run one at a time either way.
        return contextvars.copy_context().run(functools.partial(func, *args, **kwargs))

    def dispatch_committed_changes(self, consumer_id, consumer) -> None:
        return None

    def _validate_document_against_unique_indexes(self, db_name, coll_name, document, *, exclude_storage_key=None,
                                                  skip_id_check=False, scan_payload_id=False):
        if isinstance(document.get("_id"), str):
            scan_payload_id = False
        return super()._validate_document_against_unique_indexes(
            db_name, coll_name, document, exclude_storage_key=exclude_storage_key, skip_id_check=skip_id_check,
            scan_payload_id=scan_payload_id)

    def _select_first_document_for_plan(self, db_name, coll_name, plan, *, hint=None, context=None):
        ids = _candidate_ids(plan)
        if ids is None:
            return super()._select_first_document_for_plan(db_name, coll_name, plan, hint=hint, context=context)
        return next(self._matching_by_id(db_name, coll_name, plan, ids, context=context), None)

    def _open_scan_documents_sync(self, reader):
        semantics = reader.semantics
        plain = (semantics.text_query is None and semantics.sort is None and semantics.skip == 0
                 and semantics.collation is None and semantics.hint is None)
        ids = _candidate_ids(semantics.query_plan) if plain else None
        if ids is None:
            return super()._open_scan_documents_sync(reader)
        found = self._matching_by_id(reader.db_name, reader.coll_name, semantics.query_plan, ids,
                                     context=reader.context)
        limit = abs(semantics.limit or 0) or len(ids)
        return iter([apply_projection(document, semantics.projection, selector_filter=semantics.filter_spec,
                                      dialect=semantics.dialect) for _, document in itertools.islice(found, limit)])

    def _matching_by_id(self, db_name, coll_name, plan, ids, *, context=None):
        """(storage key, document) of each candidate id whose document matches the whole plan.

        Looked up by key here: mongoeco's own key lookup takes "not found" for "cannot look
        this up" and scans the collection, so every probe for an unknown id would."""
        conn = self._require_connection(context)
        with self._bind_connection(conn), sqlite_read_scope(conn):
            rows = [conn.execute(ID_LOOKUP, (db_name, coll_name, self._storage_key(value))).fetchone() for value in ids]
        for row in rows:
            if row is None:
                continue
            document = self._deserialize_document(row[1])
            if QueryEngine.match_plan(document, plan):
                yield row[0], document

    def _field_contains_tagged_value_type_in_collection(self, db_name, coll_name, field, value_type) -> bool:
        return False

    def _field_is_top_level_array_in_collection(self, db_name, coll_name, field) -> bool:
        return False


def _candidate_ids(plan) -> tuple[str, ...] | None:
    """The string ``_id`` values a plan can match at most, when it names them (``_id`` equal to
    or in a list of strings, alone or in a conjunction); None when it does not."""
    clauses = plan.clauses if isinstance(plan, AndCondition) else (plan,)
    for clause in clauses:
        if isinstance(clause, EqualsCondition) and clause.field == "_id" and isinstance(clause.value, str):
            return (clause.value,)
        if isinstance(clause, InCondition) and clause.field == "_id" and all(isinstance(v, str) for v in clause.values):
            return tuple(dict.fromkeys(clause.values))
    return None
