"""Spike alerts: calls.classified → (keyed by agency) spikes.calls → alerts.diversion, and the
spike gauges on /metrics.

Two hops. The keyer (:func:`keyer`, a batched consumer like the ingest and store hops: every
call takes it) reads calls.classified, whose records are keyed by incident and spread over every
partition, and forwards each record unchanged to ``<prefix>spikes.calls`` keyed by its agency,
with the partition it came from. The ``detect_spikes`` agent reads that topic: every call of one
agency lands on one partition, so exactly one worker of the group counts an agency, whole,
however many workers share the group (tests/integration/test_spikes_two_workers.py).

Windows close by event time (the watermark in divert.spikes), never by the worker's clock: the
watermark of an agency is the least, over calls.classified's partitions, of the latest event time
forwarded from each, so a partition read ahead does not close windows the others still fill.
The first time a worker sees an agency (after a start, or after a rebalance gave it the
agency's partition) the agency's detector is rebuilt from the stored calls before that batch's
first call (the database is the source of truth), so a restart neither forgets what is normal nor
re-sends alerts it already sent (alerts the history implies but the alerts table lacks are sent);
without a database it starts empty and learns from the stream. An agency whose partition moved to
another worker is forgotten here. This assumes the store is not further behind than this agent,
which holds when both run in one worker. The store (streams/store.py) writes alerts.diversion
to the alerts table, so this agent only sends to the topic.
"""

from __future__ import annotations

import logging
from datetime import datetime

import msgspec

from consumers.db.sources.spikes import rebuild_from_database
from consumers.exceptions import DatabaseUnavailable
from divert.spikes import SpikeMonitor, load_alert_settings
from divert.telemetry import publish_spikes
from schemas import decode_classified_call, encode
from streams.outbox import send_until_acknowledged

log = logging.getLogger(__name__)


class _Call(msgspec.Struct):
    agency: str


class _AgencyOnly(msgspec.Struct):
    call: _Call


_agency_decoder = msgspec.json.Decoder(_AgencyOnly)


def envelope(partition: int, raw: bytes) -> bytes:
    """A forwarded call: the partition of calls.classified it came from, a newline, the record.

    >>> unwrap(envelope(3, b'{"call": {}}'))
    (3, b'{"call": {}}')
    """
    return b"%d\n%s" % (partition, raw)


def unwrap(value: bytes) -> tuple[int | None, bytes]:
    head, sep, raw = value.partition(b"\n")
    if not sep or not head.isdigit():
        return None, value
    return int(head), raw


def keyer(ctx, outbox):
    """The batch handler that forwards calls.classified to spikes.calls, keyed by agency."""
    topic = ctx.topics.spike_calls
    forwarded = ctx.metrics.records_out.labels(topic)

    async def handle(records) -> None:
        out = []
        for m in records:
            value = m.value or b""
            try:
                agency = _agency_decoder.decode(value).call.agency
            except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
                continue  # the store dead-letters undecodable records of this topic
            out.append((agency.encode(), envelope(m.partition, value)))
        await outbox.enqueue(topic, out)
        await outbox.flush()
        forwarded.inc(len(out))

    return handle


def attach(app, ctx) -> None:
    topics, metrics, config = ctx.topics, ctx.metrics, ctx.config
    # the worker creates it with every topic (streams.topics), with calls.classified's partition count
    keyed = app.topic(topics.spike_calls, key_serializer="raw", value_serializer="raw",
                      partitions=topics.partitions, internal=True)
    monitor = SpikeMonitor(load_alert_settings)
    owner: dict[str, int] = {}  # agency -> the partition of spikes.calls it arrives on here

    async def rebuild(agency: str, first) -> None:
        """An agency seen for the first time here: its history from the database up to the window
        of its first call the stream delivers (the stream delivers the rest)."""
        if not config.database_url:
            return
        try:
            rebuilt, unsent = await rebuild_from_database(config.database_url, [agency], before=first)
        except DatabaseUnavailable as exc:  # a fresh detector still works; say why it is fresh
            log.warning("spike detector for %s starts empty: could not read history from the database (%s)",
                        agency, exc)
            return
        monitor.adopt(rebuilt, agency)
        await _send(app, topics.alerts, unsent)
        log.info("spike detector for %s rebuilt from the stored calls before %s", agency, first)

    @app.agent(keyed, name="detect_spikes")
    async def detect_spikes(stream):
        async for events in stream.take_events(config.batch_size, within=config.batch_within):
            assigned = {tp.partition for tp in app.consumer.assignment() if tp.topic == keyed.get_topic_name()}
            for agency in [a for a, p in owner.items() if p not in assigned]:
                monitor.forget(agency)  # its partition went to another worker: rebuilt if it comes back
                del owner[agency]
            # per agency, per partition of calls.classified it came through, in arrival order
            by_source: dict[tuple[str, int | None], list] = {}
            new: dict[str, tuple[int, datetime]] = {}  # agencies first seen here: partition, first call
            for e in events:
                partition, raw = unwrap(e.message.value or b"")
                try:
                    call = decode_classified_call(raw)
                except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
                    continue
                agency, at = call.call.agency, call.call.received_at
                by_source.setdefault((agency, partition), []).append(call)
                if agency not in owner:
                    seen = new.get(agency)
                    new[agency] = (e.message.partition, min(at, seen[1]) if seen else at)
            for agency, (partition, first) in new.items():
                owner[agency] = partition
                await rebuild(agency, first)
            # every partition of calls.classified forwards to this agency's partition
            monitor.windows.partitions = frozenset(range(topics.partitions))
            alerts = [a for (_, partition), calls in by_source.items() for a in monitor.observe(calls, partition)]
            await _send(app, topics.alerts, alerts)
            metrics.records_out.labels(topics.alerts).inc(len(alerts))
            publish_spikes(metrics, monitor)


async def _send(app, topic: str, alerts) -> None:
    """Send the alerts; a worker stopped meanwhile loses none: on restart the detector is rebuilt
    from the database and sends the alerts the stored calls imply but the alerts table lacks."""
    await send_until_acknowledged(app.producer, topic, [(a.alert_id.encode(), encode(a)) for a in alerts], "alerts")
