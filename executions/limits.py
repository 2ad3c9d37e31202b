"""Limit caps and how a caller's requested limits are resolved against them."""

from dataclasses import asdict, fields

from django.conf import settings

from executions.runners.base import Limits

LIMIT_ABOVE_CAP = "limits.{name}={value} is above the cap of {cap} on this server"
LIMIT_NOT_POSITIVE = "limits.{name} must be greater than 0"
LIMIT_BELOW_MINIMUM = "limits.{name}={value} is below the minimum of {minimum}: {why}"
# What a sandbox needs before the script does anything: Python's own start-up takes ~10 MiB.
LIMIT_MINIMUMS = {"memory_mb": (16, "the interpreter alone needs about 10 MiB")}
LIMIT_UNKNOWN = "limits.{name} is not a known limit (known: {known})"

LIMIT_NAMES = tuple(f.name for f in fields(Limits))


class InvalidLimits(ValueError):
    pass


def limit_caps() -> Limits:
    return Limits(**settings.EXECUTION_LIMITS)


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
