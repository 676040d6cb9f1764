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

from datetime import UTC, datetime

from divert.adapters.privacy import PrivacyRule, canonical_rule, clean_text, redact
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

    return DeadLetter(
        source_topic=text(source_topic),
        agency=text(agency),
        record_id=text(error.record_id),
        field=text(error.field),
        reason=text(error.reason or "invalid"),
        detail=text(error.detail or str(error), MAX_DETAIL),
        payload=redact(payload, rule or canonical_rule()),
        failed_at=now or datetime.now(UTC),
        partition=partition,
        offset=offset,
        item=item,
    )


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


__all__ = ["dead_letter", "reduced"]
