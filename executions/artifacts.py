"""The files runs made, kept in MongoDB's GridFS (bucket ``artifacts``; the embedded store
holds it too): stored when a run ends, read when one is served, deleted with its execution.

Each stored file names its execution in its metadata, so a file whose execution never
recorded it (its worker died between storing and finishing) still goes when the execution
is deleted.
"""

from __future__ import annotations

import mimetypes

import gridfs
from bson import ObjectId
from mongoengine.connection import get_db

from executions.documents import OutputFile
from executions.runners.base import RunFile
from integr8scode import mongo

BUCKET = "artifacts"
# What a file's name says it is, as far as this server knows; the rest is just bytes.
KNOWN_TYPES = {
    ".csv": "text/csv",
    ".md": "text/markdown",
    ".json": "application/json",
    ".parquet": "application/vnd.apache.parquet",
}
FALLBACK_TYPE = "application/octet-stream"


def _bucket() -> gridfs.GridFSBucket:
    mongo.connect()
    return gridfs.GridFSBucket(get_db(), bucket_name=BUCKET)


def content_type_of(name: str) -> str:
    suffix = "." + name.rpartition(".")[2].lower() if "." in name else ""
    return KNOWN_TYPES.get(suffix) or mimetypes.guess_type(name, strict=False)[0] or FALLBACK_TYPE


def artifacts_store(*, execution_id: str, files: list[RunFile]) -> list[OutputFile]:
    """Store ``files`` for the execution; all or none (what was stored is removed on failure)."""
    bucket = _bucket()
    stored: list[OutputFile] = []
    try:
        for file in files:
            content_type = content_type_of(file.name)
            file_id = bucket.upload_from_stream(
                file.name, file.data, metadata={"execution_id": execution_id, "content_type": content_type}
            )
            stored.append(OutputFile(name=file.name, size=len(file.data), content_type=content_type, file_id=file_id))
    except BaseException:
        artifacts_delete(file_ids=[file.file_id for file in stored])
        raise
    return stored


def artifact_read(file_id: ObjectId) -> bytes:
    return _bucket().open_download_stream(file_id).read()


def artifacts_delete(*, execution_id: str | None = None, file_ids: list[ObjectId] = ()) -> int:
    """Delete the given files, and every file stored for ``execution_id``; how many went."""
    bucket = _bucket()
    ids = list(file_ids)
    if execution_id is not None:
        ids += [found._id for found in bucket.find({"metadata.execution_id": execution_id})]
    deleted = 0
    for file_id in dict.fromkeys(ids):
        try:
            bucket.delete(file_id)
            deleted += 1
        except gridfs.errors.NoFile:
            pass
    return deleted
