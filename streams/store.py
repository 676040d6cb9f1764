"""The canonical topics → the database, one batch at a time.

Each batch is written before its offsets are committed. If the database is unreachable the
batch is retried until it is stored (the partitions wait, nothing is dropped); a batch handled
again after a crash changes nothing (keyed upserts). A message that cannot be decoded, or a
record the database refuses, is sent to the dead-letter topic with the reason; a dead letter
that cannot be decoded is stored as a dead letter about itself, and one the database refuses
is stored reduced (consumers.db.sink.DeadLetterSink). Counters count rows actually stored.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence

import msgspec

from consumers.db.sink import Database, TableSink, sink_for
from divert.deadletter import refused, undecodable
from schemas import (
    decode_alert,
    decode_classified_call,
    decode_crime_report,
    decode_dead_letter,
    decode_officer_activity,
    encode,
)

# Topics attribute → (table, decoder)
STORED = {
    "calls_classified": ("calls", decode_classified_call),
    "officer_activity": ("officer_activity", decode_officer_activity),
    "crime_reports": ("crime_reports", decode_crime_report),
    "deadletter": ("dead_letters", decode_dead_letter),
    "alerts": ("alerts", decode_alert),
}


def stored_topics(topics) -> list[str]:
    return [getattr(topics, attr) for attr in STORED]


def handler(ctx, outbox, database: Database):
    metrics = ctx.metrics

    def on_written(table: str, n: int, seconds: float) -> None:
        metrics.sink_batch_seconds.labels(table).observe(seconds)
        metrics.records_out.labels(f"db.{table}").inc(n)

    agencies = {ctx.adapter(city).agency for city in ctx.config.cities}
    route = {}
    for attr, (table, decode) in STORED.items():
        sink = sink_for(database, table, on_written=on_written,
                        on_retry=lambda t=table: metrics.sink_retries.labels(t).inc())
        route[getattr(ctx.topics, attr)] = (sink, decode)

    async def handle(records: Sequence) -> None:
        by_topic = defaultdict(list)
        for r in records:
            by_topic[r.topic].append(r)
        for topic, messages in by_topic.items():
            sink, decode = route[topic]
            await _store(topic, messages, sink, decode)
        await outbox.flush()

    async def _store(topic: str, messages, sink: TableSink, decode) -> None:
        decoded, letters, message_of = [], [], {}
        for m in messages:
            try:
                record = decode(m.value or b"")
            except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
                letters.append(undecodable(m.value or b"", exc, source_topic=topic, partition=m.partition,
                                           offset=m.offset))
                continue
            decoded.append(record)
            message_of[id(record)] = m
        sink.add(decoded)
        await sink.flush()
        for r, why in sink.take_rejected():
            m = message_of[id(r)]
            letters.append(refused(r, m.value or b"", why, source_topic=topic, partition=m.partition,
                                   offset=m.offset))
        if letters:
            for d in letters:
                metrics.dead_letters.labels(topic, d.reason).inc()
            if sink.name == "dead_letters":  # an undecodable dead letter is stored as one about itself
                sink.add(letters)
                await sink.flush()
            else:
                await outbox.enqueue(ctx.topics.deadletter, ((None, encode(d)) for d in letters))
        # counted once handled (stored or dead-lettered): `divert demo` waits for the store to catch up
        metrics.records_in.labels(topic).inc(len(messages))
        if sink.name == "calls" and decoded:
            now = time.time()
            for c in decoded:  # a label per configured agency only: a topic's content must not add labels
                agency = c.call.agency if c.call.agency in agencies else "other"
                metrics.event_to_row_seconds.labels(agency).observe(now - c.call.received_at.timestamp())

    return handle
