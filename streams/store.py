"""Agents store_*: the canonical topics → the database, one batch at a time.

Each batch is written before the agent takes the next, and Faust commits an offset only
for events the agent has finished: a batch is acknowledged after it is stored. If the
database is unreachable, the batch is retried until it is stored (the partition waits,
nothing is dropped); a batch replayed after a crash changes nothing (keyed upserts).
"""

from __future__ import annotations

import time

import msgspec

from consumers.db.sink import WRITERS, Database, TableSink
from divert.exceptions import InvalidRecord
from schemas import (
    decode_alert,
    decode_classified_call,
    decode_crime_report,
    decode_dead_letter,
    decode_officer_activity,
)

# topic attribute of Topics → (table, decoder)
STORED = {
    "calls_classified": ("calls", decode_classified_call),
    "officer_activity": ("officer_activity", decode_officer_activity),
    "crime_reports": ("crime_reports", decode_crime_report),
    "deadletter": ("dead_letters", decode_dead_letter),
    "alerts": ("alerts", decode_alert),
}


def attach(app, ctx) -> None:
    if not ctx.config.database_url:
        return
    database = Database(ctx.config.database_url)
    metrics = ctx.metrics

    def on_written(table: str, n: int, seconds: float) -> None:
        metrics.sink_batch_seconds.labels(table).observe(seconds)
        metrics.records_out.labels(f"db.{table}").inc(n)

    for attr, (table, decode) in STORED.items():
        topic_name = getattr(ctx.topics, attr)
        sink = TableSink(database, table, WRITERS[table], on_written=on_written,
                         on_retry=lambda t=table: metrics.sink_retries.labels(t).inc())
        _attach_one(app, ctx, topic_name, sink, decode)

    @app.timer(interval=5.0)
    async def report_consumer_lag() -> None:
        consumer = app.consumer
        for tp in consumer.assignment():
            position = await consumer.position(tp)
            if position is not None:
                metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(
                    max(consumer.highwater(tp) - position, 0))


def _attach_one(app, ctx, topic_name: str, sink: TableSink, decode) -> None:
    from divert.deadletter import dead_letter
    from schemas import encode
    from streams.sending import send_all

    topic = app.topic(topic_name, key_serializer="raw", value_serializer="raw",
                      partitions=ctx.topics.partitions)
    metrics = ctx.metrics
    is_calls = sink.name == "calls"

    @app.agent(topic, name=f"store.{sink.name}")
    async def store(stream):
        async for events in stream.take_events(ctx.config.batch_size, within=ctx.config.batch_within):
            records, rejected, message_of = [], [], {}
            for e in events:
                try:
                    record = decode(e.message.value or b"")
                except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                    rejected.append((e.message, InvalidRecord("invalid_record", detail=str(exc))))
                    continue
                records.append(record)
                message_of[id(record)] = e.message
            metrics.records_in.labels(topic_name).inc(len(events))
            sink.add(records)
            await sink.flush()
            rejected += [(message_of[id(r)], InvalidRecord("refused_by_database", detail=why))
                         for r, why in sink.take_rejected()]
            if rejected:
                letters = [dead_letter(m.value or b"", source_topic=topic_name, agency=None, error=err,
                                       partition=m.partition, offset=m.offset) for m, err in rejected]
                for d in letters:
                    metrics.dead_letters.labels(topic_name, d.reason).inc()
                if sink.name == "dead_letters":  # an undecodable dead letter is stored as one about itself
                    sink.add([d for d in letters if d.reason == "invalid_record"])
                    await sink.flush()
                else:
                    await send_all(app, ctx.topics.deadletter, ((None, encode(d)) for d in letters))
            if is_calls and records:
                now = time.time()
                for c in records:
                    metrics.event_to_row_seconds.labels(c.call.agency).observe(
                        now - c.call.received_at.timestamp())
