"""Dead letters: an input record that could not be made canonical, with the field and reason.

The payload is kept so the record can be fixed and replayed, minus any private column
(caller name, phone …): a dead letter is stored, and caller data is never stored.

>>> from divert.exceptions import InvalidRecord
>>> err = InvalidRecord("missing", field="IncidentNumber", detail="incident_id is missing")
>>> dl = dead_letter(b'{"IncidentNumber": "", "Caller Phone": "555-0100", "ProblemType": "Theft"}',
...                 source_topic="cad.raw.san_antonio", error=err, agency="san_antonio",
...                 now=datetime(2024, 1, 1, tzinfo=UTC))
>>> dl.payload, dl.field, dl.reason
('{"IncidentNumber":"","ProblemType":"Theft"}', 'IncidentNumber', 'missing')
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import msgspec

from divert.adapters.mapping import DEFAULT_PRIVATE_COLUMNS, is_private
from divert.exceptions import InvalidRecord
from schemas.records import DeadLetter

MAX_PAYLOAD = 64 * 1024  # a dead letter is for a person to read, not a blob store


def redact(payload: bytes | str, private_columns: Iterable[str] = DEFAULT_PRIVATE_COLUMNS) -> str:
    """The payload as text, without private keys when it is a JSON object.

    Anything that is not a JSON object is kept as text (there are no keys to drop), decoded
    as UTF-8 with replacement characters, and cut at MAX_PAYLOAD characters.
    """
    patterns = tuple(private_columns)
    try:
        value = msgspec.json.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError):
        value = None
    else:
        if isinstance(value, dict):
            kept = {k: v for k, v in value.items() if not is_private(k, patterns)}
            return msgspec.json.encode(kept).decode()[:MAX_PAYLOAD]
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    return text[:MAX_PAYLOAD]


def dead_letter(payload: bytes | str, *, source_topic: str, error: InvalidRecord,
                agency: str | None, partition: int | None = None, offset: int | None = None,
                item: int = 0, now: datetime | None = None,
                private_columns: Iterable[str] = DEFAULT_PRIVATE_COLUMNS) -> DeadLetter:
    """The DeadLetter for ``payload``, which failed with ``error`` (pass the adapter's
    ``mapping.private_columns`` when the city has its own list)."""
    return DeadLetter(
        source_topic=source_topic,
        agency=agency,
        record_id=error.record_id,
        field=error.field,
        reason=error.reason or "invalid",
        detail=error.detail or str(error),
        payload=redact(payload, private_columns),
        failed_at=now or datetime.now(UTC),
        partition=partition,
        offset=offset,
        item=item,
    )


__all__ = ["dead_letter", "redact"]
