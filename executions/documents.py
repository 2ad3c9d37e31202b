"""The ``executions`` collection: one document per run of a script."""

import secrets

from django.utils import timezone
from mongoengine import (
    BinaryField,
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    EmbeddedDocument,
    EmbeddedDocumentListField,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)
from pymongo.errors import OperationFailure

from executions.runners.base import ErrorType
from integr8scode import mongo


class Status:
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    ALL = (QUEUED, RUNNING, COMPLETED, FAILED)
    FINAL = (COMPLETED, FAILED)


# The index of each owner's executions, newest first: lists of one owner's executions name it.
OWNER_HISTORY_INDEX = "owner_history"
SHOWN_CANCELLED = "cancelled"
# Whose idempotency keys a key is among (``services.execution_submit`` gives every caller its own).
OWNER_SCOPE = "user:{owner_id}"
# The unique index of keys per owner, from before keys were scoped per caller (see
# Execution.ensure_indexes).
LEGACY_IDEMPOTENCY_INDEX = "idempotency"


def new_execution_id() -> str:
    """128 random bits, URL-safe: knowing the id is the capability to read an anonymous run."""
    return secrets.token_hex(16)


class StoredDocument(Document):
    """A document of this project: its store is connected the first time one is used (an
    embedded store started then, if need be), not when Django starts (mongo.py)."""

    meta = {"abstract": True}

    @classmethod
    def _get_db(cls):
        mongo.connect()
        return super()._get_db()


class InputFile(EmbeddedDocument):
    """A file given with the submission, placed in the script's working directory."""

    name = StringField(required=True)
    data = BinaryField(required=True)


class OutputFile(EmbeddedDocument):
    """A file the run made, kept in GridFS (``artifacts.py``) under ``file_id``."""

    name = StringField(required=True)
    size = IntField(required=True)
    content_type = StringField(required=True)
    file_id = ObjectIdField(required=True)


class Execution(StoredDocument):
    execution_id = StringField(primary_key=True, default=new_execution_id)
    script = StringField(required=True)
    stdin = StringField(default="")
    input_files = EmbeddedDocumentListField(InputFile, default=list)
    runtime = StringField(required=True)
    limits = DictField(required=True)
    file_caps = DictField(default=dict)  # FileCaps of what the run may return; empty: the server's

    status = StringField(required=True, choices=Status.ALL, default=Status.QUEUED)
    output = StringField(default="")
    errors = StringField(null=True, default=None)
    output_truncated = BooleanField(default=False)
    # Sequence number of the last output chunk stored in output/errors (live watchers resume after it).
    output_seq = IntField(default=0)
    error_type = StringField(null=True, choices=[e.value for e in ErrorType], default=None)
    error_message = StringField(default="")
    exit_code = IntField(null=True, default=None)
    # The uncaught exception that ended a failed run (its type, message and line in the script),
    # as the script's process described it: for display, none for any other end.
    exception_type = StringField(null=True, default=None)
    exception_message = StringField(null=True, default=None)
    exception_line = IntField(null=True, default=None)
    signal = IntField(null=True, default=None)

    created_at = DateTimeField(required=True, default=timezone.now)
    updated_at = DateTimeField(required=True, default=timezone.now)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    duration_ms = IntField(null=True)
    cpu_ms = IntField(null=True)
    compile_ms = IntField(null=True)  # a compiled language's build, timed by the host (not in duration_ms)
    peak_memory_kb = IntField(null=True)
    # Figures where the sandbox's own report disagreed with the host's measurement (the host's
    # were kept): a sign that something in the sandbox tried to forge its result.
    flags = ListField(StringField(), default=list)
    files = EmbeddedDocumentListField(OutputFile, default=list)  # what the run made, in name order
    files_truncated = BooleanField(default=False)  # some were over the caps and left out

    # An interactive run's stdin stays open while it runs (services.execution_feed): ``stdin``
    # first, then what was typed, in order, then end of file once ``input_closed``.
    interactive = BooleanField(default=False)
    typed = StringField(default="")
    input_bytes = IntField(default=0)  # stdin and everything typed, in UTF-8: held to the stdin cap
    input_closed = BooleanField(default=False)
    # Whether it waits for input now, as the host measures it (idle, everything typed passed on).
    waiting_for_input = BooleanField(default=False)

    runner = StringField(null=True)
    worker = StringField(null=True)
    lease_until = DateTimeField(null=True)
    attempts = IntField(default=0)
    cancel_requested = BooleanField(default=False)

    owner_id = IntField(null=True)
    script_id = IntField(null=True)
    idempotency_key = StringField(null=True)
    idempotency_scope = StringField(null=True)

    meta = {
        "collection": "executions",
        "indexes": [
            # The queue claim: oldest queued first.
            {"fields": ["status", "created_at"], "name": "queue_claim"},
            # Crash recovery: running executions by lease expiry.
            {"fields": ["status", "lease_until"], "name": "lease_expiry"},
            # Per-owner history, newest first.
            {"fields": ["owner_id", "-created_at"], "name": OWNER_HISTORY_INDEX},
            # Retries with the same Idempotency-Key return the original execution, to the same
            # caller only. Documents from before scopes (none of their own) are not in it.
            {
                "fields": ["idempotency_scope", "idempotency_key"],
                "name": "idempotency_scoped",
                "unique": True,
                "partialFilterExpression": {"idempotency_scope": {"$type": "string"}},
            },
        ],
        # Created on first use in each process, so a process can start while MongoDB is down.
        "auto_create_index": True,
    }

    @property
    def is_final(self) -> bool:
        return self.status in Status.FINAL

    @property
    def shown_status(self) -> str:
        """The status as pages show it: a cancelled run is failed by status, shown as cancelled."""
        cancelled = self.status == Status.FAILED and self.error_type == ErrorType.CANCELLED
        return SHOWN_CANCELLED if cancelled else self.status

    @classmethod
    def ensure_indexes(cls):
        _retire_legacy_idempotency(cls._get_collection())
        super().ensure_indexes()


def _retire_legacy_idempotency(collection) -> None:
    """Keys used to be unique per ``owner_id``, so every anonymous caller shared one key space,
    and the old index would still refuse two of them the same key. Owned documents move to
    their owner's scope; anonymous ones stay without a scope (their caller's address was never
    stored), so no retry matches them any more. Only while the old index exists, so a store
    that has been moved over is not searched again at every start. (A process of the older
    release that starts after this recreates the old index, until a process of this one
    starts again: keep a rollout from restarting old processes.)"""
    if LEGACY_IDEMPOTENCY_INDEX not in collection.index_information():
        return
    legacy = {"idempotency_key": {"$type": "string"}, "owner_id": {"$ne": None}, "idempotency_scope": None}
    for document in collection.find(legacy, {"owner_id": 1}):
        scope = OWNER_SCOPE.format(owner_id=document["owner_id"])
        collection.update_one({"_id": document["_id"]}, {"$set": {"idempotency_scope": scope}})
    try:
        collection.drop_index(LEGACY_IDEMPOTENCY_INDEX)
    except OperationFailure:  # another process dropped it first
        pass


class QueueEntry(StoredDocument):
    """One queued execution, in a collection that holds only the queue.

    Claims take the oldest entry here instead of scanning ``executions`` (which grows with
    every run and which the embedded store cannot search by index), then move the execution
    from queued to running with a conditional update. An entry whose execution is no longer
    queued (cancelled or deleted) is stale and simply dropped; a queued execution whose
    entry was lost (its claimer died in between) gets a new one from the recovery sweep.
    """

    execution_id = StringField(primary_key=True)
    created_at = DateTimeField(required=True)

    meta = {
        "collection": "execution_queue",
        "indexes": [{"fields": ["created_at"], "name": "fifo"}],
        "auto_create_index": True,
    }
