"""Agent classify_calls: cad.events → calls.classified, or deadletter."""

from __future__ import annotations

import time

from divert.ingest import RawMessage, event_key
from divert.routing import classify_messages
from schemas import encode
from streams.sending import send_all
from streams.topics import Topics


def attach(app, ctx) -> None:
    topics: Topics = ctx.topics
    metrics, classifier_for = ctx.metrics, ctx.classifier_for
    batch_size, within = ctx.config.batch_size, ctx.config.batch_within
    source = app.topic(topics.cad_events, key_serializer="raw", value_serializer="raw",
                       partitions=topics.partitions)

    @app.agent(source, name="classify_calls")
    async def classify_calls(stream):
        async for events in stream.take_events(batch_size, within=within):
            started = time.perf_counter()
            batch = classify_messages(
                classifier_for,
                (RawMessage(e.message.value, e.message.partition, e.message.offset) for e in events),
                source_topic=topics.cad_events)
            metrics.records_in.labels(topics.cad_events).inc(len(events))
            await send_all(app, topics.calls_classified,
                           ((event_key(c.call.agency, c.call.incident_id), encode(c)) for c in batch.calls))
            await send_all(app, topics.deadletter, ((None, encode(d)) for d in batch.dead_letters))
            metrics.records_out.labels(topics.calls_classified).inc(len(batch.calls))
            for d in batch.dead_letters:
                metrics.dead_letters.labels(topics.cad_events, d.reason).inc()
            metrics.batch_seconds.labels("classify_calls").observe(time.perf_counter() - started)

