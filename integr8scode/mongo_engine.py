"""The embedded store's engine: mongoeco's SQLite engine, minus scans this application
never needs.

mongoeco answers some questions by scanning every document of a collection, so their cost
grows with every execution ever stored:
- on insert, it compares the new ``_id`` with every stored one, in case a numeric id equals
  one of another numeric type. Our ids are strings: the storage-key lookup it makes first
  already decides uniqueness.
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

    def _field_contains_tagged_value_type_in_collection(self, db_name, coll_name, field, value_type) -> bool:
        return False

    def _field_is_top_level_array_in_collection(self, db_name, coll_name, field) -> bool:
        return False
