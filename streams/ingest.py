"""The hot hop: cad.raw.<city> → cad.events, officer.activity, calls.classified, deadletter.

One batch at a time, in one step: normalize every raw record with its city's adapter,
classify the canonical events with the agency's classifier, produce every output, and only
then let the batch's offsets be committed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence

from divert.ingest import RawMessage, classify_batch, event_key, normalize_messages
from schemas import encode


def handler(ctx, outbox):
    topics, metrics = ctx.topics, ctx.metrics
    city_of = {topics.raw(city): city for city in ctx.config.cities}

    async def handle(records: Sequence) -> None:
        started = time.perf_counter()
        by_topic: dict[str, list[RawMessage]] = defaultdict(list)
        for r in records:
            by_topic[r.topic].append(RawMessage(r.value, r.partition, r.offset))
        for topic, messages in by_topic.items():
            adapter = ctx.adapter(city_of[topic])
            batch = normalize_messages(adapter, messages, source_topic=topic)
            calls = classify_batch(ctx.classifier_for(adapter.agency), batch, source_topic=topic,
                                   rule=adapter.privacy)
            metrics.records_in.labels(topic).inc(batch.records)
            await outbox.enqueue(topics.cad_events, ((event_key(e.agency, e.incident_id), encode(e))
                                                     for e in batch.events))
            await outbox.enqueue(topics.officer_activity, ((event_key(a.agency, a.activity_id), encode(a))
                                                           for a in batch.activities))
            await outbox.enqueue(topics.calls_classified, ((event_key(c.call.agency, c.call.incident_id),
                                                            encode(c)) for c in calls))
            await outbox.enqueue(topics.deadletter, ((None, encode(d)) for d in batch.dead_letters))
            metrics.records_out.labels(topics.cad_events).inc(len(batch.events))
            metrics.records_out.labels(topics.officer_activity).inc(len(batch.activities))
            metrics.records_out.labels(topics.calls_classified).inc(len(calls))
            for d in batch.dead_letters:
                metrics.dead_letters.labels(topic, d.reason).inc()
        await outbox.flush()
        metrics.batch_seconds.labels("ingest").observe(time.perf_counter() - started)

    return handle
