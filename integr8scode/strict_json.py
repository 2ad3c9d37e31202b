"""JSON as RFC 8259 defines it, for request bodies and WebSocket messages.

Python's json module also reads ``NaN``, ``Infinity`` and ``-Infinity``, which are not JSON:
a limit of NaN compares false with every cap and no store keeps it. Here they are malformed
JSON like any other, and so is nesting deeper than the parser's recursion reaches (which it
reports as a RecursionError, not as bad input).

JSON can also spell a lone surrogate (``"\\ud800"``): a string no store or encoder takes.
:func:`holds_lone_surrogate` finds one; what to answer is the caller's to say.
"""

import json
import re

NOT_A_NUMBER = "{name} is not a JSON number"
TOO_DEEP = "nested too deeply"
# Within a str, a surrogate is always a lone one: JSON's escaped pairs decode to one character.
_SURROGATE = re.compile("[\ud800-\udfff]")


def loads(data: str | bytes):
    """The document in ``data``; ``ValueError`` when it is not JSON."""
    try:
        return json.loads(data, parse_constant=_refuse)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None


def holds_lone_surrogate(document) -> bool:
    """Whether any string in ``document``, keys included, holds a lone surrogate."""
    pending = [document]  # not recursive: a document may nest as deep as the parser allowed
    while pending:
        value = pending.pop()
        if isinstance(value, str) and _SURROGATE.search(value):
            return True
        if isinstance(value, dict):
            pending.extend([*value, *value.values()])
        elif isinstance(value, list):
            pending.extend(value)
    return False


def is_json_media_type(content_type: str) -> bool:
    """``application/json``, or a JSON-based type such as ``application/problem+json``."""
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _refuse(name: str):
    raise ValueError(NOT_A_NUMBER.format(name=name))
