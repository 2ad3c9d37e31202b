"""Request and response shapes of the scripts API."""

from datetime import datetime

from ninja import Field, Schema
from pydantic import ConfigDict, StrictStr

from executions.schemas import FileIn, InputFileOut, InputSchema, LimitsIn
from scripts.models import Visibility


class ScriptIn(InputSchema):
    model_config = ConfigDict(extra="forbid")

    title: StrictStr
    source: StrictStr = Field(..., description="Python source.")
    runtime: StrictStr | None = Field(None, description="A runtime from GET /api/v1/runtimes; default if omitted.")
    visibility: Visibility = Visibility.PRIVATE
    files: list[FileIn] = Field(
        default_factory=list, description="Files every run of it gets in its working directory."
    )


class ScriptPatch(InputSchema):
    model_config = ConfigDict(extra="forbid")

    title: StrictStr | None = None
    source: StrictStr | None = None
    runtime: StrictStr | None = None
    visibility: Visibility | None = None
    files: list[FileIn] | None = None


class ScriptRunIn(InputSchema):
    model_config = ConfigDict(extra="forbid")

    stdin: StrictStr = ""
    limits: LimitsIn | None = None


class ScriptSummaryOut(Schema):
    key: str
    title: str
    runtime: str
    visibility: str
    owner: str
    moderation_state: str
    updated_at: datetime

    @staticmethod
    def resolve_owner(script) -> str:
        return script.owner.username


class ScriptOut(ScriptSummaryOut):
    """The summary, with the source and the rest."""

    source: str
    files: list[InputFileOut] = Field(description="The files its runs get (their content comes with each run).")
    forked_from: str | None
    moderation_reason: str
    created_at: datetime

    @staticmethod
    def resolve_files(script) -> list[dict]:
        return [{"name": file["name"], "size": file_size(file)} for file in script.files]

    @staticmethod
    def resolve_forked_from(script) -> str | None:
        return script.forked_from.key if script.forked_from_id else None


def file_size(file: dict) -> int:
    """The decoded size of a stored (base64) file."""
    content = file["content"]
    return len(content) * 3 // 4 - content[-2:].count("=")


class ScriptPageOut(Schema):
    items: list[ScriptSummaryOut]
    page: int
    pages: int
    count: int
