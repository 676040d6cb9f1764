"""Dead letters: an input record that could not be made canonical, with the field and reason.

The payload is kept as the privacy rule allows (``divert.privacy``): the columns the city's
adapter reads, addresses at block level and coordinates at 3 decimals, so the record can be
understood and fixed; no caller name, phone or other column survives, and a payload that is
not a JSON object is kept only by its shape, length and hash. Every text field is cleaned of
the characters the database refuses (a NUL), so a dead letter can always be stored.

>>> from divert.exceptions import InvalidRecord
>>> err = InvalidRecord("missing", field="IncidentNumber", detail="incident_id is missing")
>>> rule = PrivacyRule(kept=frozenset({"IncidentNumber", "ProblemType"}))
>>> dl = dead_letter(b'{"IncidentNumber": "", "Caller Phone": "555-0100", "ProblemType": "Theft"}',
...                 source_topic="cad.raw.san_antonio", error=err, agency="san_antonio",
...                 now=datetime(2024, 1, 1, tzinfo=UTC), rule=rule)
>>> dl.payload[:46], dl.field, dl.reason
('{"IncidentNumber":"","ProblemType":"Theft","_s', 'IncidentNumber', 'missing')
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec

from divert.adapters.privacy import PrivacyRule, canonical_rule, clean_text, kept_text, redact
from divert.exceptions import InvalidRecord
from schemas.records import DeadLetter

MAX_DETAIL = 1000


def dead_letter(payload: bytes | str, *, source_topic: str, error: InvalidRecord,
                agency: str | None, partition: int | None = None, offset: int | None = None,
                item: int = 0, now: datetime | None = None,
                rule: PrivacyRule | None = None) -> DeadLetter:
    """The DeadLetter for ``payload``, which failed with ``error``; ``rule`` is the adapter's
    privacy rule (``adapter.privacy``), or divert's own records' when None."""
    def text(value: str | None, limit: int = 200) -> str | None:
        return None if value is None else clean_text(value, limit)

    def kept(value: str | None) -> str | None:  # read from the record: held to the payload's rule
        return None if value is None else kept_text(value)

    return DeadLetter(
        source_topic=text(source_topic),
        agency=kept(agency),
        record_id=kept(error.record_id),
        field=text(error.field),
        reason=text(error.reason or "invalid"),
        detail=text(error.detail or str(error), MAX_DETAIL),
        payload=redact(payload, rule or canonical_rule()),
        failed_at=now or datetime.now(UTC),
        partition=partition,
        offset=offset,
        item=item,
    )


# the identifying fields of divert's own records, read leniently from a message that does not decode
_ID_FIELDS = ("incident_id", "activity_id", "report_id", "alert_id", "record_id")


class _Identity(msgspec.Struct):
    agency: Any = None
    incident_id: Any = None
    activity_id: Any = None
    report_id: Any = None
    alert_id: Any = None
    record_id: Any = None
    call: _Identity | None = None


_read_identity = msgspec.json.Decoder(_Identity).decode


def identity(record) -> tuple[str | None, str | None]:
    """(agency, id) of one of divert's records (a classified call's are its call's), or Nones.

    >>> identity(_read_identity(b'{"call": {"agency": "sa", "incident_id": "7"}, "route": "x"}'))
    ('sa', '7')
    """
    inner = getattr(record, "call", None) or record
    agency = getattr(inner, "agency", None)
    record_id = next((v for name in _ID_FIELDS if isinstance(v := getattr(inner, name, None), str)), None)
    return (agency if isinstance(agency, str) else None), record_id


# msgspec names where a record went wrong: "… - at `$.call.areas[...]`", "… - at `key` in `$.call.areas`";
# within that object, a missing field is named in the message, and so is the field a record's own
# check refused ("received_at must carry a time zone", "areas: the layer 'city' …")
_AT = re.compile(r" - at `(?:key` in `)?\$\.?([^`]*)`$")
_NAMED = re.compile(r"^(?:Object missing required field `(\w+)`|(\w+)(?::| must) )")


def _field(message: str) -> str | None:
    """The dotted path of the field a msgspec error names, without list indices.

    >>> _field("Object missing required field `incident_id` - at `$.call`")
    'call.incident_id'
    >>> _field("Expected `str` of length <= 200 - at `$.call.areas[...]`"), _field("Input data was truncated")
    ('call.areas', None)
    """
    at = _AT.search(message)
    if at is None:
        return None
    path = [p for p in re.sub(r"\[[^\]]*\]", "", at.group(1)).split(".") if p]
    named = _NAMED.match(message)
    if named:
        path.append(named.group(1) or named.group(2))
    return ".".join(path) or None


def undecodable(payload: bytes, exc: Exception, *, source_topic: str, partition: int | None = None,
                offset: int | None = None) -> DeadLetter:
    """The dead letter of a message on one of divert's own topics that does not decode as its
    record: the field msgspec names, and the record's agency and id where they can be read.

    >>> d = undecodable(b'{"call": {"agency": "sa", "incident_id": "7", "areas": {"city": "x"}}}',
    ...                 msgspec.ValidationError("Expected `str` of length <= 64 - at `key` in `$.call.areas`"),
    ...                 source_topic="calls.classified")
    >>> d.agency, d.record_id, d.field, d.reason
    ('sa', '7', 'call.areas', 'invalid_record')
    """
    why = "nested too deeply to read" if isinstance(exc, RecursionError) else str(exc)
    field = _field(why)
    try:
        agency, record_id = identity(_read_identity(payload))
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        agency = record_id = None
    return dead_letter(payload, source_topic=source_topic, agency=agency, partition=partition, offset=offset,
                       error=InvalidRecord("invalid_record", field=field, record_id=record_id, detail=why))


def refused(record, payload: bytes | str, why: str, *, source_topic: str, partition: int | None = None,
            offset: int | None = None) -> DeadLetter:
    """The dead letter of a record the database refused (``why``: its message), named by the
    record's agency and id; ``payload`` is the record as it arrived or encoded."""
    agency, record_id = identity(record)
    return dead_letter(payload, source_topic=source_topic, agency=agency, partition=partition, offset=offset,
                       error=InvalidRecord("refused_by_database", record_id=record_id, detail=why))


def reduced(letter: DeadLetter, why: str) -> DeadLetter:
    """A dead letter the database refused, kept in a form it cannot refuse: the payload only
    by its hash (the redacted text is what was refused), the database's reason in the detail."""
    from divert.adapters.privacy import opaque
    from schemas import encode

    def ascii_text(value: str | None) -> str | None:
        return None if value is None else value.encode("ascii", "replace").decode()

    return DeadLetter(
        source_topic=ascii_text(clean_text(letter.source_topic)) or "unknown",
        agency=ascii_text(letter.agency), record_id=ascii_text(letter.record_id), field=ascii_text(letter.field),
        reason=ascii_text(letter.reason) or "invalid",
        detail=ascii_text(f"stored reduced: the database refused this dead letter ({clean_text(why, 300)}); "
                          f"first: {clean_text(letter.detail, 300)}"),
        payload=encode(opaque(letter.payload)).decode(),
        failed_at=letter.failed_at, partition=letter.partition, offset=letter.offset, item=letter.item)


__all__ = ["dead_letter", "identity", "reduced", "refused", "undecodable"]
