"""Request and response shapes of the executions API."""

from datetime import datetime
from typing import Literal
from urllib.parse import quote

from ninja import Field, Schema
from pydantic import ConfigDict, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator, model_validator

from integr8scode import strict_json

LONE_SURROGATE = "Text must be Unicode: lone surrogates such as \\ud800 are not characters"


class InputSchema(Schema):
    """What every request body and submit message is made of: strings that are Unicode text (JSON
    can spell a lone surrogate, "\\ud800", which no store can encode) and finite numbers (1e400
    reads as infinity)."""

    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("*")
    @classmethod
    def _unicode_text(cls, value):
        if strict_json.holds_lone_surrogate(value):
            raise ValueError(LONE_SURROGATE)
        return value


class ExecuteIn(InputSchema):
    """The seed's request: just the script."""

    script: StrictStr = Field(..., description="Python source to run.")


class ExecuteOut(Schema):
    execution_id: str
    status: str


class LimitsIn(InputSchema):
    model_config = ConfigDict(extra="forbid")

    wall_seconds: StrictFloat | StrictInt | None = None
    cpu_seconds: StrictInt | None = None
    memory_mb: StrictInt | None = None
    processes: StrictInt | None = None
    disk_mb: StrictInt | None = None
    output_bytes: StrictInt | None = None


class FileIn(InputSchema):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(
        ..., description='A path relative to the working directory ("data.csv", "inputs/a.txt"): no ".." parts.'
    )
    content: StrictStr = Field(..., description="The file's content, as the encoding says.")
    encoding: Literal["utf8", "base64"] = Field("utf8", description="utf8 for text, base64 for any bytes.")


class ExecutionIn(InputSchema):
    model_config = ConfigDict(extra="forbid")

    script: StrictStr = Field(..., description="Python source to run.")
    stdin: StrictStr = Field("", description="Text given to the script on standard input.")
    interactive: StrictBool = Field(
        False,
        description="Keep stdin open while it runs: `stdin` first, then what is sent with POST "
        "/api/v1/executions/{id}/stdin or the WebSocket's stdin message, until end of file is sent. "
        "Interactive runs have a wall cap of their own (GET /api/v1/runtimes).",
    )
    runtime: StrictStr | None = Field(
        None, description="A runtime from GET /api/v1/runtimes; the default when omitted."
    )
    limits: LimitsIn | None = Field(None, description="Lower limits for this run; none may exceed the server's caps.")
    files: list[FileIn] = Field(
        default_factory=list,
        description="Files placed in the script's working directory before it starts (caps: GET /api/v1/runtimes).",
    )

    def submission(self) -> dict:
        """The arguments of ``services.execution_submit`` that come from the request body."""
        limits = self.limits.model_dump(exclude_none=True) if self.limits else None
        files = [file.model_dump() for file in self.files]
        return {
            "script": self.script,
            "stdin": self.stdin,
            "interactive": self.interactive,
            "runtime": self.runtime,
            "limits": limits,
            "files": files,
        }


class StdinIn(InputSchema):
    model_config = ConfigDict(extra="forbid")

    text: StrictStr = Field("", description="Text appended to the run's stdin.")
    eof: StrictBool = Field(False, description="Then end of file: the script reads no more after it.")

    @model_validator(mode="after")
    def something(self):
        if not self.text and not self.eof:
            raise ValueError("send some text, or eof: true")
        return self


class LimitsOut(Schema):
    wall_seconds: float
    cpu_seconds: int
    memory_mb: int
    processes: int
    disk_mb: int
    output_bytes: int


class ResultOut(Schema):
    """The seed's result shape, with the facts that explain it."""

    execution_id: str
    status: str
    output: str
    errors: str | None
    error_type: str | None
    exit_code: int | None


class InputFileOut(Schema):
    name: str
    size: int


class FileOut(Schema):
    name: str
    size: int
    content_type: str
    url: str = Field(description="GET it under the execution's access rule (GET /api/v1/executions/{id}/files/{name}).")


def file_url(execution_id: str, name: str) -> str:
    return f"/api/v1/executions/{execution_id}/files/{quote(name)}"


class ExecutionOut(Schema):
    execution_id: str
    status: str
    script: str
    stdin: str
    input_files: list[InputFileOut] = Field(description="The files given with the submission.")
    runtime: str
    limits: LimitsOut
    output: str
    errors: str | None
    output_truncated: bool
    error_type: str | None
    error_message: str
    exit_code: int | None
    signal: int | None
    exception_type: str | None = Field(
        None, description="The uncaught exception that ended a runtime error (e.g. ZeroDivisionError); null otherwise."
    )
    exception_message: str | None = Field(None, description="Its message (e.g. division by zero).")
    exception_line: int | None = Field(None, description="The line of the script it was raised from, where known.")
    interactive: bool = Field(False, description="Whether its stdin stays open while it runs.")
    typed: str = Field("", description="What was sent to an interactive run's stdin after `stdin`, in order.")
    input_closed: bool = Field(False, description="Whether an interactive run's stdin has been ended (eof).")
    waiting_for_input: bool = Field(
        False, description="Whether it is running and waits for input now, as the host measures it."
    )
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    cpu_ms: int | None
    compile_ms: int | None = Field(
        None, description="A compiled language's build, in ms (its program's own time is duration_ms); null otherwise."
    )
    peak_memory_kb: int | None
    flags: list[str] = Field(
        default_factory=list,
        description="Figures the sandbox reported otherwise than the host measured them (the host's are shown): "
        "exit_status, cpu_time, wall_time, reason. Empty for every honest run.",
    )
    files: list[FileOut] = Field(
        description="Files the run made or changed in its working directory (plots from plt.show() among them), "
        "in name order, within the caps."
    )
    files_truncated: bool = Field(description="Some files were over the caps and are not kept.")
    runner: str | None
    owner_id: int | None
    cancel_requested: bool

    @staticmethod
    def resolve_input_files(execution) -> list[dict]:
        return [{"name": file.name, "size": len(file.data)} for file in execution.input_files]

    @staticmethod
    def resolve_files(execution) -> list[dict]:
        return [
            {
                "name": file.name,
                "size": file.size,
                "content_type": file.content_type,
                "url": file_url(execution.execution_id, file.name),
            }
            for file in execution.files
        ]


class InputFileCapsOut(Schema):
    count: int
    total_bytes: int


class OutputFileCapsOut(Schema):
    count: int
    total_bytes: int
    file_bytes: int


class RuntimeOut(Schema):
    name: str
    language: str = Field(description="python")
    version: str
    description: str
    packages: dict[str, str] = Field(
        description="What the runtime offers beyond the standard library: name -> version."
    )
    default: bool
    isolation: str = Field(
        description="What keeps its runs apart from the host: bubblewrap, gvisor, "
        "kubernetes, or kubernetes:<runtime class> (gVisor's, typically)."
    )
    limits: LimitsOut = Field(description="The most the caller may ask for in this runtime (and what a run gets).")
    interactive: bool = Field(description="Whether its runs can be interactive (fed input while they run).")
    compiled: bool = Field(
        description="Whether a program is built before it runs (a compile step with limits of its own)."
    )
    source_file: str = Field(description="The file name its source is given as (main.py, main.c, ...).")
    interactive_wall_seconds: float = Field(description="The wall cap of an interactive run here.")


class RuntimesOut(Schema):
    runtimes: list[RuntimeOut]
    limits: LimitsOut = Field(description="The caps of the default runtime.")
    script_max_bytes: int
    stdin_max_bytes: int
    input_files: InputFileCapsOut = Field(description="The most files a submission may give, and their size in all.")
    output_files: OutputFileCapsOut = Field(description="The most files a run returns: how many, in all, per file.")


class ErrorOut(Schema):
    detail: str


class FieldErrorOut(Schema):
    """One field that failed validation: where (``["body", "payload", "script"]``), what kind, and
    why; ``ctx`` holds the rule's parameters where it has any."""

    type: str
    loc: list[str | int]
    msg: str
    ctx: dict | None = None


class InvalidOut(Schema):
    """A 422: the reason, or for fields that fail validation the list of them."""

    detail: str | list[FieldErrorOut]


# What every operation may answer: a presented token that does not check out (401), and the
# server's own limits on the request line (414) and headers (431; integr8scode.server_errors).
ANY_ERRORS = {401: ErrorOut, 414: ErrorOut, 431: ErrorOut}
# Writes too: a signed-in browser session without its CSRF token.
WRITE_ERRORS = {**ANY_ERRORS, 403: ErrorOut}
# Writes that read a JSON body too: malformed, too large, not sent as JSON, invalid.
BODY_ERRORS = {**WRITE_ERRORS, 400: ErrorOut, 413: ErrorOut, 415: ErrorOut, 422: InvalidOut}


class ExecutionSummaryOut(Schema):
    """One line of a history: the facts, without script text or output."""

    execution_id: str
    status: str
    runtime: str
    file_count: int = Field(0, description="How many files the run made (listed on the execution).")

    @staticmethod
    def resolve_file_count(execution) -> int:
        return len(execution.files)

    script_id: int | None
    error_type: str | None
    exit_code: int | None
    created_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    cpu_ms: int | None


class ExecutionPageOut(Schema):
    items: list[ExecutionSummaryOut]
    page: int
    pages: int
    count: int
