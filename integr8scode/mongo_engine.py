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
- it builds an SQLite index for every compound index (``owner_history``,
  ``idempotency_scoped``, ``queue_claim``, ...) but never uses it: a filter is compiled to
  ``json_extract`` expressions that are not the index's, and a hint only pins the index's
  first two columns (database and collection), so every read scans the collection. Here a
  filter that fixes an index's leading fields to plain strings or integers also names them
  in the index's own expressions, so SQLite reads only that owner's (or key's, or status's)
  entries; mongoeco's own condition stays in the statement and decides what matches.
- it enforces a compound unique index by reading back every document of the collection on
  each insert (each keyed submission, at 3,000 executions 100 ms). Here the candidates come
  from that index and mongoeco's own comparison decides.
- a sorted query first counts the types of the sort key over the whole collection, to order
  by the bare value when they are all one type; without a single-field index on the key it
  orders by (type, value) instead, which is the same order for such keys.
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
from mongoeco.engines._sqlite_plan_heuristics import sort_requires_python
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.engines.sqlite_query import (
    json_path_for_field,
    translate_query_plan,
    type_expression_sql,
    value_expression_sql,
)
from mongoeco.engines.virtual_indexes import document_in_virtual_index

CHANGE_OUTBOX_ENTRIES = 100
ID_LOOKUP = "SELECT storage_key, document FROM documents WHERE db_name = ? AND coll_name = ? AND storage_key = ?"
NAMESPACE = "SELECT db_name, coll_name FROM collections WHERE collection_id = ?"
UNIQUE_CANDIDATES = "SELECT storage_key, document FROM documents WHERE db_name = ? AND coll_name = ? AND {key}"
# Set while mongoeco translates the clauses of a filter: only the whole filter is narrowed.
_translating_clauses = contextvars.ContextVar("translating_clauses", default=False)
# The index the read being planned names (its hint), if any.
_hint = contextvars.ContextVar("hint", default=None)


class EmbeddedEngine(SQLiteEngine):
    def __init__(self, path: str, **options):
        super().__init__(path, change_outbox_max_entries=CHANGE_OUTBOX_ENTRIES, **options)

    async def _run_blocking(self, func, /, *args, **kwargs):
        # In the server's own process every operation would hop to a worker thread and back;
        # with one SQLite connection they run one at a time either way.
        return contextvars.copy_context().run(functools.partial(func, *args, **kwargs))

    def dispatch_committed_changes(self, consumer_id, consumer) -> None:
        return None

    def _validate_document_against_unique_indexes(
        self, db_name, coll_name, document, *, exclude_storage_key=None, skip_id_check=False, scan_payload_id=False
    ):
        if isinstance(document.get("_id"), str):
            scan_payload_id = False
        return super()._validate_document_against_unique_indexes(
            db_name,
            coll_name,
            document,
            exclude_storage_key=exclude_storage_key,
            skip_id_check=skip_id_check,
            scan_payload_id=scan_payload_id,
        )

    def _select_first_document_for_plan(self, db_name, coll_name, plan, *, hint=None, context=None):
        ids = _candidate_ids(plan)
        if ids is None:
            return super()._select_first_document_for_plan(db_name, coll_name, plan, hint=hint, context=context)
        return next(self._matching_by_id(db_name, coll_name, plan, ids, context=context), None)

    def _open_scan_documents_sync(self, reader):
        semantics = reader.semantics
        plain = (
            semantics.text_query is None
            and semantics.sort is None
            and semantics.skip == 0
            and semantics.collation is None
            and semantics.hint is None
        )
        ids = _candidate_ids(semantics.query_plan) if plain else None
        if ids is None:
            return super()._open_scan_documents_sync(reader)
        found = self._matching_by_id(
            reader.db_name, reader.coll_name, semantics.query_plan, ids, context=reader.context
        )
        limit = abs(semantics.limit or 0) or len(ids)
        return iter(
            [
                apply_projection(
                    document, semantics.projection, selector_filter=semantics.filter_spec, dialect=semantics.dialect
                )
                for _, document in itertools.islice(found, limit)
            ]
        )

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

    def _field_traverses_array_in_collection(self, db_name, coll_name, field) -> bool:
        # For a top-level field, the same question as the one above (asked again by every write
        # of a document that a unique index holds).
        if "." not in field:
            return False
        return super()._field_traverses_array_in_collection(db_name, coll_name, field)

    def _compile_read_execution_plan(self, db_name, coll_name, semantics, *, select_clause="document", hint=None):
        token = _hint.set(hint)
        try:
            return super()._compile_read_execution_plan(
                db_name, coll_name, semantics, select_clause=select_clause, hint=hint
            )
        finally:
            _hint.reset(token)

    def _translate_query_plan_with_multikey(self, db_name, coll_name, plan):
        if _translating_clauses.get():
            return super()._translate_query_plan_with_multikey(db_name, coll_name, plan)
        token = _translating_clauses.set(True)
        try:
            sql, params = super()._translate_query_plan_with_multikey(db_name, coll_name, plan)
        finally:
            _translating_clauses.reset(token)
        return self._narrowed_by_index(db_name, coll_name, plan, sql, params)

    def _sort_requires_python(self, db_name, coll_name, plan, sort) -> bool:
        # mongoeco's own check (is the sort key ever an array or a number in a wrapper among the
        # matching documents?), asked of the index's candidates instead of every document.
        return sort_requires_python(
            db_name=db_name,
            coll_name=coll_name,
            plan=plan,
            sort=sort,
            plan_has_array_traversing_paths=self._plan_has_array_traversing_paths,
            translate_query_plan=lambda p: self._narrowed_by_index(db_name, coll_name, p, *translate_query_plan(p)),
            field_traverses_array_in_collection=self._field_traverses_array_in_collection,
            field_contains_tagged_bytes_in_collection=self._field_contains_tagged_bytes_in_collection,
            field_contains_tagged_undefined_in_collection=self._field_contains_tagged_undefined_in_collection,
            fetchone=lambda sql, params: self._require_connection().execute(sql, params).fetchone(),
            type_expression_sql=type_expression_sql,
            json_path_for_field=json_path_for_field,
        )

    def _build_scalar_sort_select_sql(self, db_name, coll_name, plan, *, select_clause, sort, skip, limit, hint):
        if sort and len(sort) == 1 and self._find_scalar_sort_index(db_name, coll_name, sort[0][0]) is None:
            return None
        return super()._build_scalar_sort_select_sql(
            db_name, coll_name, plan, select_clause=select_clause, sort=sort, skip=skip, limit=limit, hint=hint
        )

    def _unique_index_conflict_via_scalar_entries(self, conn, collection_id, index, document, *, exclude_storage_key):
        key = _string_key(index, document)
        if key is None or collection_id is None or not index.get("physical_name"):
            return super()._unique_index_conflict_via_scalar_entries(
                conn, collection_id, index, document, exclude_storage_key=exclude_storage_key
            )
        sql = UNIQUE_CANDIDATES.format(key=_index_key_sql(key))  # in the index's own expressions: read through it
        rows = conn.execute(sql, (*conn.execute(NAMESPACE, (collection_id,)).fetchone(), *key.values())).fetchall()
        return any(
            document_in_virtual_index(existing, index) and self._unique_index_conflict(document, existing, index)
            for existing in (
                self._deserialize_document(payload)
                for storage_key, payload in rows
                if storage_key != exclude_storage_key
            )
        )

    def _narrowed_by_index(self, db_name, coll_name, plan, sql, params):
        """The translated filter, also required to lie in the entries of the indexes whose
        leading fields the filter fixes, so that SQLite reads only those. With no arrays in
        those fields, mongoeco translates an equality to a plain string or integer as "the
        JSON value is text (or a number) and equal", which implies the index's "no wrapper
        type and equal value": the result is the same."""
        fixed = self._index_prefix(db_name, coll_name, plan)
        if not fixed:
            return sql, params
        return f"{_index_key_sql(fixed)} AND ({sql})", [*fixed.values(), *params]

    def _index_prefix(self, db_name, coll_name, plan) -> dict:
        """{field: value} for the leading fields of the hinted index, or else of every ordered
        index, that the filter sets equal to a plain string or integer (empty when none). Where
        two indexes fit, SQLite, knowing nothing of their sizes, may take either: a hint
        decides, for every statement of the read."""
        clauses = plan.clauses if isinstance(plan, AndCondition) else (plan,)
        fixed = {c.field: c.value for c in clauses if isinstance(c, EqualsCondition) and _plain(c.field, c.value)}
        if not fixed:
            return {}
        hint, prefix = _hint.get(), {}
        indexes = (
            self._load_indexes(db_name, coll_name)
            if hint is None
            else [self._resolve_hint_index(db_name, coll_name, hint)]
        )
        for index in indexes:
            if not index.get("physical_name") or index.get("hidden"):
                continue
            fields = list(itertools.takewhile(fixed.__contains__, index["fields"]))
            # A single-field index of its own makes mongoeco also match the value inside arrays.
            if not any(self._find_multikey_index(db_name, coll_name, f) for f in fields):
                prefix.update((field, fixed[field]) for field in fields)
        return prefix


def _plain(field: str, value) -> bool:
    """A top-level field and a value stored as a bare JSON string or integer."""
    return "." not in field and (type(value) is str or (type(value) is int and -(2**63) <= value < 2**63))


def _string_key(index, document) -> dict | None:
    """The values a compound index takes from a document, when they are all plain strings."""
    key = {field: document.get(field) for field in index["fields"]}
    if len(key) > 1 and all("." not in field and type(value) is str for field, value in key.items()):
        return key
    return None


def _index_key_sql(fixed: dict) -> str:
    """The condition "these fields hold these bare values" in the expressions mongoeco indexes
    them by (a wrapper type, empty for bare JSON values, then the value)."""
    return " AND ".join(f"{type_expression_sql(field)} = '' AND {value_expression_sql(field)} = ?" for field in fixed)


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
