"""Limit caps and how a caller's requested limits are resolved against them."""

from dataclasses import asdict, fields, replace

from django.conf import settings

from executions.runners.base import FileCaps, Limits

LIMIT_ABOVE_CAP = "limits.{name}={value} is above the cap of {cap} on this server"
LIMIT_NOT_POSITIVE = "limits.{name} must be greater than 0"
LIMIT_BELOW_MINIMUM = "limits.{name}={value} is below the minimum of {minimum}: {why}"
# What a sandbox needs before the script does anything: Python's own start-up takes ~10 MiB.
LIMIT_MINIMUMS = {"memory_mb": (16, "the interpreter alone needs about 10 MiB")}
LIMIT_UNKNOWN = "limits.{name} is not a known limit (known: {known})"

LIMIT_NAMES = tuple(f.name for f in fields(Limits))


class InvalidLimits(ValueError):
    pass


def limit_caps(runtime: str | None = None) -> Limits:
    """Signed-in callers' caps: the server's, with the runtime's own where it has some."""
    return Limits(**(settings.EXECUTION_LIMITS | settings.RUNTIME_EXECUTION_LIMITS.get(runtime, {})))


def interactive_caps(caps: Limits, *, signed_in: bool) -> Limits:
    """The caps of an interactive run: a wall cap of its own (a person types slowly)."""
    wall = settings.INTERACTIVE_WALL_SECONDS if signed_in else settings.ANONYMOUS_INTERACTIVE_WALL_SECONDS
    return replace(caps, wall_seconds=wall)


def anonymous_limit_caps(runtime: str | None = None) -> Limits:
    return Limits(
        **(settings.ANONYMOUS_EXECUTION_LIMITS | settings.ANONYMOUS_RUNTIME_EXECUTION_LIMITS.get(runtime, {}))
    )


def most_cpu_seconds() -> int:
    """The highest CPU cap of any runtime."""
    per_runtime = [caps.get("cpu_seconds", 0) for caps in settings.RUNTIME_EXECUTION_LIMITS.values()]
    return max([settings.EXECUTION_LIMITS["cpu_seconds"], *per_runtime])


def input_file_caps(*, signed_in: bool) -> dict[str, int]:
    """How many files a submission may give, and their size in all (bytes)."""
    return dict(settings.INPUT_FILE_CAPS if signed_in else settings.ANONYMOUS_INPUT_FILE_CAPS)


def output_file_caps(*, signed_in: bool) -> FileCaps:
    """How many files a run returns, in all and per file (bytes)."""
    return FileCaps(**(settings.OUTPUT_FILE_CAPS if signed_in else settings.ANONYMOUS_OUTPUT_FILE_CAPS))


def limits_resolve(*, requested: dict | None, caps: Limits) -> Limits:
    """The caps, lowered where the caller asked for less. Asking for more is an error."""
    values = asdict(caps)
    for name, value in (requested or {}).items():
        if value is None:
            continue
        if name not in values:
            raise InvalidLimits(LIMIT_UNKNOWN.format(name=name, known=", ".join(LIMIT_NAMES)))
        if value <= 0:
            raise InvalidLimits(LIMIT_NOT_POSITIVE.format(name=name))
        minimum, why = LIMIT_MINIMUMS.get(name, (0, ""))
        if value < minimum:
            raise InvalidLimits(LIMIT_BELOW_MINIMUM.format(name=name, value=value, minimum=minimum, why=why))
        if value > values[name]:
            raise InvalidLimits(LIMIT_ABOVE_CAP.format(name=name, value=value, cap=values[name]))
        values[name] = value
    return Limits(**values)
