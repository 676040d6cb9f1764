"""Canonical CAD events → classified calls, one batch at a time, for any mix of agencies.

Undecodable events (a producer that is not divert, a schema it breaks) become dead letters
naming the field; the rest are classified by the agency's classifier, built once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec

from divert.exceptions import ConfigError, InvalidRecord
from divert.ingest import RawMessage
from schemas import ClassifiedCall, DeadLetter, decode_cad_event


@dataclass
class ClassifiedBatch:
    calls: list[ClassifiedCall] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


def classify_messages(classifier_for: Callable[[str], object], messages: Iterable[RawMessage], *,
                      source_topic: str, now: datetime | None = None) -> ClassifiedBatch:
    out = ClassifiedBatch()
    by_agency: dict[str, list] = {}
    for msg in messages:
        try:
            event = decode_cad_event(msg.value or b"")
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            out.dead_letters.append(_dead(msg, source_topic, InvalidRecord(
                "invalid_event", field=_field_of(exc), detail=str(exc)), None, now))
            continue
        by_agency.setdefault(event.agency, []).append((msg, event))
    for agency, items in by_agency.items():
        try:
            classifier = classifier_for(agency)
        except ConfigError as exc:
            out.dead_letters.extend(_dead(m, source_topic, InvalidRecord(
                "unknown_agency", field="agency", record_id=e.incident_id, detail=str(exc)),
                agency, now) for m, e in items)
            continue
        out.calls.extend(classifier.classify_many([e for _, e in items]))
    return out


def _field_of(exc: Exception) -> str | None:
    # msgspec names the path as "... at `$.field`"
    text = str(exc)
    return text.rsplit("`$.", 1)[1].rstrip("`") if "`$." in text else None


def _dead(msg: RawMessage, topic: str, err: InvalidRecord, agency: str | None, now) -> DeadLetter:
    from divert.deadletter import dead_letter

    return dead_letter(msg.value or b"", source_topic=topic, error=err, agency=agency,
                       partition=msg.partition, offset=msg.offset, now=now or datetime.now(UTC))
