"""Reading one raw value: the coercions every adapter shares, and the dead-letter reasons.

A raw record comes from CSV (all strings) or from a JSON client that may send numbers and
nulls, so a value may be ``str``, ``int``, ``float`` or ``None``; anything else (a bool, a
list, an object) in a column the adapter reads is an invalid record. Reasons are short,
stable codes, so dead letters can be counted by (field, reason).

>>> coordinate("29.509685", -90, 90), coordinate("0", -90, 90), coordinate("91", -90, 90)
(29.51, None, None)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from divert.exceptions import InvalidRecord

MISSING = "missing"
BAD_TIME = "unparseable_time"
NOT_INTEGER = "not_an_integer"
OUT_OF_RANGE = "out_of_range"
TOO_LONG = "too_long"
BAD_VALUE_TYPE = "unsupported_value_type"
NOT_AN_OBJECT = "not_an_object"
CONTROL_CHARACTER = "control_character"

MAX_RAW_TEXT = 1000  # longer raw values are refused before any cache, regex or record sees them

MAX_TEXT = 200  # schemas.records.NonEmpty
# NUL and the other C0 controls (tab, newline, carriage return aside) and lone surrogates:
# no CAD field holds them, and the database refuses a NUL
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
MAX_PRIORITY = 1000


def raw_text(raw: Mapping, columns: tuple[str, ...], record_id: str | None = None) -> str | None:
    """The stripped text of the first of ``columns`` present in ``raw``; None when absent/blank.

    Aliases exist because a city renames columns between exports; a record carries one of
    them, so the first present (non-null) one wins.
    """
    for key in columns:
        value = raw.get(key)
        if value is not None:
            break
    else:
        return None
    kind = type(value)
    if kind is str:
        if len(value) > MAX_RAW_TEXT:
            raise InvalidRecord(TOO_LONG, field=key, record_id=record_id,
                                detail=f"{key}: {len(value):,} characters, at most {MAX_RAW_TEXT:,} allowed")
        if not value.isprintable() and (bad := _CONTROL.search(value)):
            raise InvalidRecord(CONTROL_CHARACTER, field=key, record_id=record_id,
                                detail=f"{key}: a control character (U+{ord(bad.group()):04X}) "
                                       f"at position {bad.start()}")
        return value.strip() or None
    if kind is int or kind is float:  # not bool: type(True) is bool
        return repr(value) if kind is float else str(value)
    raise InvalidRecord(BAD_VALUE_TYPE, field=key, record_id=record_id,
                        detail=f"{key}: expected a string or number, got {kind.__name__}")


def clip(text: str | None, limit: int = 80) -> str:
    return text if text is None or len(text) <= limit else text[:limit] + "…"


def integer(text: str) -> int:
    """
    >>> integer("3"), integer("3.0"), integer(" 7")
    (3, 3, 7)
    """
    try:
        return int(text)
    except ValueError:
        value = float(text)  # raises ValueError for garbage
        if not value.is_integer():
            raise ValueError(f"{text!r} is not a whole number") from None
        return int(value)


def coordinate(text: str | None, low: float, high: float) -> float | None:
    """A coordinate rounded to 3 decimals (about 100 m), or None when blank, unparseable,
    not finite, outside [low, high], or 0 at that precision (the "null island" placeholder
    geocoders write for an unknown location). A bad coordinate loses the point on the map
    but not the call, so it is never a reason to dead-letter a record."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or not low <= value <= high:
        return None
    value = round(value, 3)
    return value if value != 0.0 else None
