"""The embedded store's engine: mongoeco's SQLite engine, minus scans this application
never needs.

mongoeco answers some questions by scanning every document of a collection, so their cost
grows with every execution ever stored:
- on insert, it compares the new ``_id`` with every stored one, in case a numeric id equals
  one of another numeric type. Our ids are strings: the storage-key lookup it makes first
  already decides uniqueness.
- a query, update or find-and-modify whose filter names the ``_id`` *and* another field (every conditional
  transition of the queue: ``{_id, status: "queued"}``) is compiled to SQL that scans the
  collection; only a filter of the ``_id`` alone is looked up by key. At 3,000 stored
  executions such an update cost 18 ms. Here the ``_id`` picks the one candidate by key and
  mongoeco's own matcher checks the rest of the filter on it.
- before a query or update, it checks whether any stored document holds a decimal or a
  top-level array in the queried fields (and forgets the answer after every write). Our
  documents never store decimals, and none of the fields we query hold arrays.
The overrides keep their answers exact for the documents this application writes; the
tests in ``integr8scode/tests/test_mongo_engine.py`` hold them to it.

It also does not deliver change-stream events: after every committed write mongoeco would
take a dispatch lease (two SQLite writes) and start and join a heartbeat thread, which under
concurrent load serialises every write behind thread start-ups. This application never opens
a change stream (live output travels through the channel layer), so the engine's bounded
outbox (``CHANGE_OUTBOX_ENTRIES``) is simply never read.
"""

from mongoeco.core.filtering import QueryEngine
from mongoeco.core.projections import apply_projection
from mongoeco.core.query_plan import AndCondition, EqualsCondition
from mongoeco.engines.sqlite import SQLiteEngine


CHANGE_OUTBOX_ENTRIES = 100


class EmbeddedEngine(SQLiteEngine):
    def __init__(self, path: str, **options):
        super().__init__(path, change_outbox_max_entries=CHANGE_OUTBOX_ENTRIES, **options)

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
        by_id = _string_id_clause(plan)
        if by_id is None:
            return super()._select_first_document_for_plan(db_name, coll_name, plan, hint=hint, context=context)
        selected = super()._select_first_document_for_plan(db_name, coll_name, by_id, hint=hint, context=context)
        if selected is None or not QueryEngine.match_plan(selected[1], plan):
            return None
        return selected

    def _open_scan_documents_sync(self, reader):
        semantics = reader.semantics
        plain = semantics.text_query is None and semantics.sort is None and semantics.skip == 0
        if not (plain and semantics.collation is None and semantics.hint is None and _string_id_clause(semantics.query_plan)):
            return super()._open_scan_documents_sync(reader)
        selected = self._select_first_document_for_plan(reader.db_name, reader.coll_name, semantics.query_plan,
                                                        context=reader.context)
        if selected is None:
            return iter(())
        return iter((apply_projection(selected[1], semantics.projection, selector_filter=semantics.filter_spec,
                                      dialect=semantics.dialect),))

    def _field_contains_tagged_value_type_in_collection(self, db_name, coll_name, field, value_type) -> bool:
        return False

    def _field_is_top_level_array_in_collection(self, db_name, coll_name, field) -> bool:
        return False


def _string_id_clause(plan) -> EqualsCondition | None:
    """The ``_id == "<string>"`` clause of a conjunction, if it has one."""
    if not isinstance(plan, AndCondition):
        return None
    for clause in plan.clauses:
        if isinstance(clause, EqualsCondition) and clause.field == "_id" and isinstance(clause.value, str):
            return clause
    return None
