"""Produce a city's history file to cad.raw.<city> in event-time order, resumably.

Records go out as the city wrote them (one JSON object each, keyed by incident id) at N×
real time or as fast as the broker takes them. Progress is checkpointed after every acked
chunk, so a stopped replay resumes where the broker last confirmed; re-sent records are
harmless because every downstream write is keyed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from divert.exceptions import InvalidRecord
from divert.ingest import event_key

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
        item = ReplayItem(at, event_key(adapter.city, rid) if rid else None, _encode(raw))
        last = at or last
        rows.append((last, seq, item))
    rows.sort(key=lambda r: (r[0], r[1]))
    return ReplayPlan([r[2] for r in rows], skipped)


def checkpoint_path(folder: Path, city: str, path: Path | None, start, end) -> Path:
    ident = json.dumps([city, str(Path(path).resolve()) if path else "configured",
                        Path(path).stat().st_size if path else 0, str(start), str(end)])
    return folder / f"{city}-{hashlib.sha1(ident.encode()).hexdigest()[:12]}.json"


async def produce(items: list[ReplayItem], *, bootstrap: str, topic: str, speed: float | None,
                  checkpoint: Path | None, resume_from: int = 0, chunk: int = 2000,
                  on_progress: Callable[[int], None] = lambda n: None) -> int:
    """Send items[resume_from:]; return how many the broker acknowledged in all."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all",
                                max_batch_size=256 * 1024)
    await producer.start()
    acked = resume_from
    try:
        t0_wall = time.monotonic()
        t0_event = next((i.at for i in items[resume_from:] if i.at), None)
        for begin in range(resume_from, len(items), chunk):
            futures = []
            for item in items[begin:begin + chunk]:
                if speed and item.at and t0_event:
                    due = t0_wall + (item.at - t0_event).total_seconds() / speed
                    if (wait := due - time.monotonic()) > 0:
                        await asyncio.sleep(wait)
                futures.append(await producer.send(topic, item.value, key=item.key))
            await asyncio.gather(*futures)
            acked = begin + len(futures)
            if checkpoint:
                checkpoint.write_text(json.dumps({"acked": acked, "total": len(items)}))
            on_progress(len(futures))
    finally:
        await producer.stop()
    return acked


def resume_point(checkpoint: Path, total: int) -> int:
    if not checkpoint.exists():
        return 0
    state = json.loads(checkpoint.read_text())
    return state["acked"] if state.get("total") == total else 0
