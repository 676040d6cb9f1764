"""Produce a city's history file to cad.raw.<city> in event-time order, resumably.

Records go out as the city wrote them, less what divert may not keep (``CityAdapter.minimal``:
only the columns the adapter reads, addresses as blocks, coordinates at 3 decimals), one JSON
object each, keyed by incident id, at N× real time or as fast as the broker takes them. A replay resumes from what the database
already holds: rows whose incident is stored (as a call or a dead letter) are not sent
again. That is right on Apache Kafka and on the embedded broker alike, which forgets every
record when it restarts; a row sent twice is harmless because every write is keyed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from divert.exceptions import InvalidRecord
from divert.ingest import event_key
from streams.outbox import Outbox, produce_all

_encode = msgspec.json.Encoder().encode
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class ReplayItem:
    at: datetime | None
    key: bytes | None
    value: bytes


@dataclass
class ReplayPlan:
    items: list[ReplayItem]
    unreadable_time_skipped: int  # only when --from/--to exclude rows whose time cannot be read


def plan(adapter, path: Path | None, start: datetime | None = None,
         end: datetime | None = None) -> ReplayPlan:
    """Read the file and order its rows by event time (stable: unreadable times keep their place)."""
    rows: list[tuple[datetime, int, ReplayItem]] = []
    last = _EPOCH
    skipped = 0
    for seq, raw in enumerate(adapter.read_raw(path)):
        try:
            at = adapter.event_time(raw)
        except InvalidRecord:
            at = None
            if start or end:
                skipped += 1
                continue
        if (start and at < start) or (end and at >= end):
            continue
        rid = adapter.record_id(raw)
        # only what the adapter reads goes out, the address as a block and coordinates at 3
        # decimals: the broker keeps what it is given, and a city's file holds more than that
        item = ReplayItem(at, event_key(adapter.agency, rid) if rid else None, _encode(adapter.minimal(raw)))
        last = at or last
        rows.append((last, seq, item))
    rows.sort(key=lambda r: (r[0], r[1]))
    return ReplayPlan([r[2] for r in rows], skipped)


def without_stored(items: list[ReplayItem], stored_keys: set[bytes]) -> list[ReplayItem]:
    """The items whose key is not among those the database already holds."""
    return [i for i in items if i.key is None or i.key not in stored_keys]


async def produce(items: list[ReplayItem], *, bootstrap: str, topic: str, speed: float | None,
                  chunk: int = 2000, on_progress: Callable[[int], None] = lambda n: None) -> int:
    """Send the items in order (at ``speed``× real time, or as fast as possible), each chunk
    acknowledged before the next; return how many were sent."""
    if not speed:
        return await produce_all(bootstrap, topic, [(i.key, i.value) for i in items], chunk=chunk,
                                 on_progress=on_progress)
    outbox = Outbox(bootstrap)
    t0_wall, t0_event = time.monotonic(), next((i.at for i in items if i.at), None)
    try:
        for begin in range(0, len(items), chunk):
            part = items[begin:begin + chunk]
            for item in part:
                if item.at and t0_event:
                    due = t0_wall + (item.at - t0_event).total_seconds() / speed
                    if (wait := due - time.monotonic()) > 0:
                        await asyncio.sleep(wait)
                await outbox.enqueue(topic, [(item.key, item.value)])
            await outbox.flush()
            on_progress(len(part))
    finally:
        await outbox.close()
    return len(items)
