"""Raw vendor messages → canonical records or dead letters, one batch at a time.

A message on ``cad.raw.<city>`` is one JSON object (a record as the city wrote it) or a
JSON array of such objects (a batch from one poll of a CAD feed). Every record in it comes
out exactly once: as a canonical :class:`CadEvent` (plus an :class:`OfficerActivity` when an
officer initiated it) or as a :class:`DeadLetter` naming the field and the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from divert.deadletter import dead_letter
from divert.exceptions import InvalidRecord
from schemas import CadEvent, DeadLetter, OfficerActivity

_decode_json = msgspec.json.Decoder().decode
_encode_json = msgspec.json.Encoder().encode


@dataclass
class RawMessage:
    value: bytes | None
    partition: int | None = None
    offset: int | None = None


@dataclass
class NormalizedBatch:
    events: list[CadEvent] = field(default_factory=list)
    activities: list[OfficerActivity] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    @property
    def records(self) -> int:
        return len(self.events) + len(self.dead_letters)


def event_key(agency: str, incident_id: str) -> bytes:
    """Partition key: one incident's updates stay in order on one partition.

    >>> event_key("seattle", "2023000319821")
    b'seattle:2023000319821'
    """
    return f"{agency}:{incident_id}".encode()


def normalize_messages(adapter, messages: Iterable[RawMessage], *, source_topic: str,
                       now: datetime | None = None) -> NormalizedBatch:
    """Normalize every record of every message; never raises for bad input."""
    out = NormalizedBatch()
    private = adapter.mapping.private_columns

    def reject(payload, err: InvalidRecord, msg: RawMessage, item: int = 0) -> None:
        out.dead_letters.append(dead_letter(
            payload, source_topic=source_topic, error=err, agency=adapter.city,
            partition=msg.partition, offset=msg.offset, item=item, now=now,
            private_columns=private))

    for msg in messages:
        try:
            records = _records_of(msg.value)
        except InvalidRecord as err:
            reject(msg.value or b"", err, msg)
            continue
        for item, raw in enumerate(records):
            try:
                if not isinstance(raw, dict):
                    raise InvalidRecord("not_a_json_object",
                                        detail=f"a batch element is a {type(raw).__name__}, not a JSON object")
                event, activity = adapter.normalize(raw)
            except InvalidRecord as err:
                reject(_encode_json(raw) if len(records) > 1 else (msg.value or b""), err, msg, item)
                continue
            out.events.append(event)
            if activity is not None:
                out.activities.append(activity)
    return out


def _records_of(value: bytes | None) -> list:
    if not value:
        raise InvalidRecord("empty_message", detail="the message has no value")
    try:
        decoded = _decode_json(value)
    except msgspec.DecodeError as exc:
        raise InvalidRecord("invalid_json", detail=f"not valid JSON: {exc}") from exc
    if isinstance(decoded, dict):
        return [decoded]
    if isinstance(decoded, list) and decoded:
        return decoded
    raise InvalidRecord("not_a_json_object",
                        detail="expected a JSON object or a non-empty array of objects")
