"""Raw vendor messages → canonical records or dead letters, one batch at a time.

A message on ``cad.raw.<city>`` is one JSON object (a record as the city wrote it) or a
JSON array of such objects (a batch from one poll of a CAD feed). Every record in it comes
out exactly once: as a canonical :class:`CadEvent` (plus an :class:`OfficerActivity` when an
officer initiated it) or as a :class:`DeadLetter` naming the field and the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from divert.deadletter import dead_letter
from divert.exceptions import InvalidRecord
from schemas import CadEvent, DeadLetter, OfficerActivity

log = logging.getLogger(__name__)
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
    """Normalize every record of every message; never raises, whatever a message holds.

    A record that breaks the adapter in a way no rule foresaw (a bug, not bad data) is
    dead-lettered as ``unexpected_error`` and logged: one message must never stop ingest
    for every city, and the records around it are still normalized.
    """
    out = NormalizedBatch()

    def reject(payload, err: InvalidRecord, msg: RawMessage, item: int = 0) -> None:
        out.dead_letters.append(dead_letter(
            payload, source_topic=source_topic, error=err, agency=adapter.city,
            partition=msg.partition, offset=msg.offset, item=item, now=now, rule=adapter.privacy))

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
            except Exception as exc:  # noqa: BLE001 — isolation of one record is the point
                err = exc if isinstance(exc, InvalidRecord) else _unexpected(exc, adapter, msg, item)
                reject(_item_payload(raw) if len(records) > 1 else (msg.value or b""), err, msg, item)
                continue
            out.events.append(event)
            if activity is not None:
                out.activities.append(activity)
    return out


def classify_batch(classifier, batch: NormalizedBatch, *, source_topic: str, rule=None) -> list:
    """The batch's events classified; an event the classifier cannot take (a bug, not bad data:
    events are canonical by now) is moved to the batch's dead letters instead of failing the batch."""
    try:
        return classifier.classify_many(batch.events)
    except Exception:  # noqa: BLE001 — find the event, keep the others
        log.exception("classifying a batch of %d failed; classifying one at a time", len(batch.events))
    calls, kept = [], []
    for event in batch.events:
        try:
            calls += classifier.classify_many([event])
        except Exception as exc:  # noqa: BLE001
            err = InvalidRecord("unexpected_error", record_id=event.incident_id,
                                detail=f"{type(exc).__name__} while classifying (a divert bug, logged)")
            batch.dead_letters.append(dead_letter(_encode_json(event), source_topic=source_topic,
                                                  error=err, agency=event.agency, rule=rule))
            continue
        kept.append(event)
    batch.events = kept
    ids = {e.incident_id for e in kept}
    batch.activities = [a for a in batch.activities if a.incident_id in ids]
    return calls


def _item_payload(raw) -> bytes:
    try:
        return _encode_json(raw)
    except (RecursionError, TypeError, ValueError):
        return b"[a batch element that cannot be encoded again]"


def _unexpected(exc: Exception, adapter, msg: RawMessage, item: int) -> InvalidRecord:
    log.error("%s: a record (partition %s, offset %s, item %d) broke the adapter; dead-lettered",
              adapter.city, msg.partition, msg.offset, item, exc_info=exc)
    return InvalidRecord("unexpected_error", detail=f"{type(exc).__name__} while normalizing "
                                                    f"(a divert bug, logged with its traceback)")


def _records_of(value: bytes | None) -> list:
    if not value:
        raise InvalidRecord("empty_message", detail="the message has no value (an empty message or a tombstone)")
    try:
        decoded = _decode_json(value)
    except msgspec.DecodeError as exc:
        raise InvalidRecord("invalid_json", detail=f"not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidRecord("invalid_json", detail="JSON nested too deeply to read") from exc
    if isinstance(decoded, dict):
        return [decoded]
    if isinstance(decoded, list) and decoded:
        return decoded
    raise InvalidRecord("not_a_json_object",
                        detail="expected a JSON object or a non-empty array of objects")
