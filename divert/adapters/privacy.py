"""What divert keeps of a record that came from outside: the one privacy rule.

Every row divert stores and every record it produces — dead letters and replayed raw
records included — passes through this rule (ARCHITECTURE.md, "Privacy"):

- a column whose name marks it private (caller, phone …) is dropped, at any depth;
- only the columns the city's mapping reads are kept (for canonical records, the schema's
  fields); any other column is withheld: its value is never kept, only how many there were;
- an address becomes its hundred block, a coordinate keeps 3 decimals (about 100 m);
- text loses control characters and is capped, and anything shaped like a phone number in it
  is masked (a CAD system may put a callback number in any free-text column); arrays and objects are walked to a bounded
  depth and breadth, anything deeper is replaced by its shape;
- a payload that is not a JSON object is kept only as a masked preview (letters ``x``,
  digits ``9``, punctuation as it was: enough to see why it did not parse, nothing to read),
  its length and its SHA-256.

Whitelisting rather than blacklisting: a city's feed may carry free-text notes or a column
named in a way no pattern foresees, and those are withheld without anyone listing them.

>>> rule = PrivacyRule(kept=frozenset({"id", "type", "address", "lat"}),
...                    addresses=frozenset({"address"}), coordinates=frozenset({"lat"}))
>>> redact(b'{"id": "7", "type": "WELFARE", "address": "5237 N 35TH ST", "lat": "43.1127987",'
...        b' "Caller Phone": "414-555-0100", "notes": "Jane Doe"}', rule)  # doctest: +ELLIPSIS
'{"id":"7","type":"WELFARE","address":"5200 BLOCK N 35TH ST","lat":43.113,"_withheld_columns":1,"_sha256":"3c71...'
>>> redact(b"Jane Doe 414-555-0100", rule)[:56]
'{"preview":"Xxxx Xxx 999-999-9999","bytes":21,"sha256":"'
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from functools import cache

import msgspec

from divert.adapters.address import to_block_address
from divert.adapters.mapping import DEFAULT_PRIVATE_COLUMNS, CityMapping, is_private

MAX_PAYLOAD = 16 * 1024  # a dead letter is for a person to read, not a blob store
MAX_TEXT = 200           # a kept string value, as the canonical schema allows
MAX_PREVIEW = 256        # characters of an unparseable payload's masked preview
MAX_DEPTH = 4            # levels of nesting walked before a value is replaced by its shape
MAX_ITEMS = 50           # elements of one array or keys of one object walked

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# North American and international phone shapes: 414-555-0199, (414) 555 0199, +44 20 7946 0958
_PHONE = re.compile(r"(?<!\d)(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)|\d{2,4})[ .-]?\d{3,4}[ .-]\d{3,4}(?!\d)")
_UPPER, _LOWER, _DIGIT = re.compile(r"[A-Z]"), re.compile(r"[^\W\dA-Z_]"), re.compile(r"\d")
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class PrivacyRule:
    """Which columns may be kept, and which of them hold addresses or coordinates."""

    kept: frozenset[str]
    addresses: frozenset[str] = frozenset()
    coordinates: frozenset[str] = frozenset()
    private: tuple[str, ...] = DEFAULT_PRIVATE_COLUMNS

    @classmethod
    def for_mapping(cls, mapping: CityMapping) -> PrivacyRule:
        """The columns a city's adapter reads, and nothing else."""
        from divert.adapters.mapping import columns_read

        read = columns_read(mapping)
        return cls(kept=frozenset(read.all), addresses=frozenset(read.addresses),
                   coordinates=frozenset(read.coordinates), private=tuple(mapping.private_columns))


@cache
def canonical_rule() -> PrivacyRule:
    """For divert's own records (a canonical topic's message that failed to decode)."""
    from schemas.records import RECORDS

    names = {f for cls in RECORDS.values() for f in cls.__struct_fields__}
    return PrivacyRule(kept=frozenset(names), addresses=frozenset({"block_address"}),
                       coordinates=frozenset({"lat", "lon"}))


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """Text without control characters or lone surrogates (the database refuses a NUL), capped.

    >>> clean_text("a\\x00b\\ud800c" + "d" * 300)[:8], len(clean_text("e" * 300))
    ('a\ufffdb\ufffdcddd', 201)
    """
    if len(text) > limit:
        text = text[:limit] + "…"
    return text if text.isprintable() else _CONTROL.sub("\ufffd", text)


def kept_text(text: str, limit: int = MAX_TEXT) -> str:
    """A kept text value: cleaned and capped, anything shaped like a phone number masked.

    >>> kept_text("call 414-555-0199 back"), kept_text("SAPD-2022-123456")
    ('call 999-999-9999 back', 'SAPD-2022-123456')
    """
    return _PHONE.sub(lambda m: mask(m.group()), clean_text(text, limit))


def mask(text: str) -> str:
    """Letters and digits masked, punctuation and spacing kept: the shape of a text.

    >>> mask("Ann 206-555-0100, {\\"x\\": 1}")
    'Xxx 999-999-9999, {"x": 9}'
    """
    return _DIGIT.sub("9", _LOWER.sub("x", _UPPER.sub("X", text)))


def opaque(payload: bytes | str) -> dict:
    """A payload kept only by its shape, length and hash."""
    data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    preview = data[:MAX_PREVIEW * 4].decode("utf-8", "replace")[:MAX_PREVIEW]
    return {"preview": clean_text(mask(preview), MAX_PREVIEW), "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def parse(payload: bytes | str) -> tuple[object, bool]:
    """(value, True) when ``payload`` is JSON, else (None, False); never raises, however deep."""
    try:
        return _decode(payload), True
    except (msgspec.DecodeError, RecursionError, UnicodeError, ValueError):
        return None, False


def kept_record(record: dict, rule: PrivacyRule, original: bytes | None = None, depth: int = 0) -> dict:
    """A JSON object as the rule keeps it (``original``, if given, is hashed to tell records apart)."""
    kept: dict = {}
    withheld = 0
    for i, (key, value) in enumerate(record.items()):
        if i >= MAX_ITEMS:
            withheld += len(record) - i
            break
        if is_private(key, rule.private):
            continue
        if key not in rule.kept:
            withheld += 1
            continue
        kept[key] = _value(key, value, rule, depth + 1)
    if withheld:
        kept["_withheld_columns"] = withheld
    if original is not None:
        kept["_sha256"] = hashlib.sha256(original).hexdigest()
    return kept


def _value(key: str, value, rule: PrivacyRule, depth: int):
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if key in rule.coordinates:
            return round(value, 3) if math.isfinite(value) else None
        return value
    if isinstance(value, str):
        if key in rule.addresses:
            return to_block_address(clean_text(value, 400)) or "[address withheld]"
        if key in rule.coordinates:
            try:
                number = float(value)
            except ValueError:
                return "[coordinate withheld]"
            return round(number, 3) if math.isfinite(number) else None
        return kept_text(value)
    if depth >= MAX_DEPTH:
        return f"[{type(value).__name__} withheld: nested too deep]"
    if isinstance(value, dict):
        return kept_record(value, rule, depth=depth)
    if isinstance(value, list):
        items = [_value(key, v, rule, depth + 1) for v in value[:MAX_ITEMS]]
        return items + ([f"[{len(value) - MAX_ITEMS} more withheld]"] if len(value) > MAX_ITEMS else [])
    return f"[{type(value).__name__} withheld]"


def redact(payload: bytes | str, rule: PrivacyRule) -> str:
    """The payload as the rule keeps it, as JSON text of at most MAX_PAYLOAD characters."""
    value, parsed = parse(payload)
    if parsed and isinstance(value, dict):
        original = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
        text = _encode(kept_record(value, rule, original)).decode()
        if len(text) <= MAX_PAYLOAD:
            return text
    return _encode(opaque(payload)).decode()


def minimal_raw(record: dict, rule: PrivacyRule) -> dict:
    """A raw record reduced to what the adapter reads, for producing to ``cad.raw.<city>``."""
    kept = {}
    for key, value in record.items():
        if key in rule.kept and not is_private(key, rule.private):
            kept[key] = _raw_value(key, value, rule)
    return kept


def _raw_value(key: str, value, rule: PrivacyRule):
    if isinstance(value, str):
        if key in rule.addresses:
            return (to_block_address(value) or "") if value.strip() else value
        if key in rule.coordinates:
            try:
                number = float(value)
            except ValueError:
                return value
            return repr(round(number, 3)) if math.isfinite(number) else ""
    return value


__all__ = ["PrivacyRule", "canonical_rule", "clean_text", "kept_text", "mask", "minimal_raw", "opaque", "parse",
           "redact"]
