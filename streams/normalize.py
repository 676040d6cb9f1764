"""Agent normalize_calls: cad.raw.<city> → cad.events (+ officer.activity), or deadletter."""

from __future__ import annotations

import time

from divert.ingest import RawMessage, event_key, normalize_messages
from schemas import encode
from streams.sending import send_all
from streams.topics import Topics


def attach(app, ctx) -> None:
    for city in ctx.config.cities:
        _attach_city(app, ctx.topics, ctx.adapter(city), ctx.metrics,
                     batch_size=ctx.config.batch_size, within=ctx.config.batch_within)


def _attach_city(app, topics: Topics, adapter, metrics, *, batch_size: int, within: float):
    source = topics.raw(adapter.city)
    raw_topic = app.topic(source, key_serializer="raw", value_serializer="raw",
                          partitions=topics.partitions)

    @app.agent(raw_topic, name=f"normalize_calls.{adapter.city}")
    async def normalize_calls(stream):
        async for events in stream.take_events(batch_size, within=within):
            started = time.perf_counter()
            batch = normalize_messages(
                adapter,
                (RawMessage(e.message.value, e.message.partition, e.message.offset) for e in events),
                source_topic=source)
            metrics.records_in.labels(source).inc(batch.records)
            await send_all(app, topics.cad_events,
                           ((event_key(ev.agency, ev.incident_id), encode(ev)) for ev in batch.events))
            await send_all(app, topics.officer_activity,
                           ((event_key(a.agency, a.activity_id), encode(a)) for a in batch.activities))
            await send_all(app, topics.deadletter,
                           ((None, encode(d)) for d in batch.dead_letters))
            metrics.records_out.labels(topics.cad_events).inc(len(batch.events))
            metrics.records_out.labels(topics.officer_activity).inc(len(batch.activities))
            for d in batch.dead_letters:
                metrics.dead_letters.labels(source, d.reason).inc()
            metrics.batch_seconds.labels("normalize_calls").observe(time.perf_counter() - started)

