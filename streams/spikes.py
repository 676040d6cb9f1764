"""Spike alerts: calls.classified → (keyed by agency) spikes.calls → alerts.diversion, and the
spike gauges on /metrics.

Two agents. ``key_spike_calls`` reads calls.classified, whose records are keyed by incident and
spread over every partition, and forwards each record unchanged to ``<prefix>spikes.calls``
keyed by its agency, with the partition it came from. ``detect_spikes`` reads that topic: every
call of one agency lands on one partition, so exactly one worker of the group counts an agency,
whole, however many workers share the group (tests/integration/test_spikes_two_workers.py).

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

import asyncio
import logging
import math

import msgspec
from aiokafka.errors import KafkaError
from prometheus_client import Gauge

from consumers.db.sources.spikes import rebuild_from_database
from divert.spikes import SpikeMonitor, load_alert_settings
from schemas import decode_classified_call, encode

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


def attach(app, ctx) -> None:
    topics, metrics, config = ctx.topics, ctx.metrics, ctx.config
    source = app.topic(topics.calls_classified, key_serializer="raw", value_serializer="raw",
                       partitions=topics.partitions)
    # the worker creates it with every topic (streams.topics), with the source's partition count
    keyed = app.topic(topics.spike_calls, key_serializer="raw", value_serializer="raw",
                      partitions=topics.partitions, internal=True)
    alert_gauges = _alert_gauges(metrics.registry)
    state: dict = {"m": SpikeMonitor(load_alert_settings), "owner": {}}

    @app.agent(source, name="key_spike_calls")
    async def key_spike_calls(stream):
        async for events in stream.take_events(config.batch_size, within=config.batch_within):
            out = []
            for e in events:
                value = e.message.value or b""
                try:
                    agency = _agency_decoder.decode(value).call.agency
                except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
                    continue  # the store dead-letters undecodable records of this topic
                out.append((agency.encode(), envelope(e.message.partition, value)))
            await _send_raw(app, keyed.get_topic_name(), out, "calls")
            metrics.records_out.labels(keyed.get_topic_name()).inc(len(out))

    async def rebuild(m: SpikeMonitor, agency: str, calls) -> None:
        """An agency seen for the first time here: its history from the database up to the window
        of its first call the stream delivers (the stream delivers the rest)."""
        if not config.database_url or not calls:
            return
        first = min(c.call.received_at for c in calls)
        try:
            rebuilt, unsent = await rebuild_from_database(config.database_url, [agency], before=first)
        except Exception as exc:  # noqa: BLE001 — a fresh detector still works; say why it is fresh
            log.warning("spike detector for %s starts empty: could not read history from the database (%s)",
                        agency, exc)
            return
        m.adopt(rebuilt, agency)
        await _send(app, topics.alerts, unsent)
        log.info("spike detector for %s rebuilt from the stored calls before %s", agency, first)

    @app.agent(keyed, name="detect_spikes")
    async def detect_spikes(stream):
        async for events in stream.take_events(config.batch_size, within=config.batch_within):
            m, owner = state["m"], state["owner"]
            assigned = {tp.partition for tp in app.consumer.assignment() if tp.topic == keyed.get_topic_name()}
            for agency in [a for a, p in owner.items() if p not in assigned]:
                m.forget(agency)  # its partition went to another worker: rebuilt if it comes back
                del owner[agency]
            by_agency: dict[str, dict[int | None, list]] = {}
            for e in events:
                partition, raw = unwrap(e.message.value or b"")
                try:
                    call = decode_classified_call(raw)
                except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
                    continue
                by_agency.setdefault(call.call.agency, {}).setdefault(partition, []).append(call)
                if call.call.agency not in owner:
                    owner[call.call.agency] = e.message.partition
                    await rebuild(m, call.call.agency, [c for e2 in events for c in _peek(e2, call.call.agency)])
            # every partition of calls.classified forwards to this agency's partition
            m.windows.partitions = frozenset(range(topics.partitions))
            alerts = []
            for parts in by_agency.values():
                for partition, calls in parts.items():
                    alerts += m.observe(calls, partition)
            await _send(app, topics.alerts, alerts)
            metrics.records_out.labels(topics.alerts).inc(len(alerts))
            publish(metrics, m, alert_gauges)


def _peek(event, agency: str) -> list:
    """The calls of ``agency`` in one forwarded event (to find the first call of a batch)."""
    _, raw = unwrap(event.message.value or b"")
    try:
        call = decode_classified_call(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return []
    return [call] if call.call.agency == agency else []


async def _send_raw(app, topic: str, records: list[tuple[bytes, bytes]], what: str = "records") -> None:
    """Produce pre-encoded records and wait for the broker to have them all, retrying until it does.

    Faust acknowledges a ``take_events`` batch when the agent's body finishes or fails, so a
    failure must not escape here: the batch stays unacknowledged while this retries. A worker
    stopped meanwhile loses nothing either: on restart the detector is rebuilt from the
    database and sends the alerts the stored calls imply but the alerts table lacks."""
    delay = 0.5
    while records:
        try:
            futures = [await app.producer.send(topic, key, value, None, None, None) for key, value in records]
            await asyncio.gather(*futures)
            return
        except KafkaError as exc:
            log.warning("sending %d %s failed (%s); retrying in %.1f s", len(records), what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def _send(app, topic: str, alerts) -> None:
    """Send the alerts (see _send_raw)."""
    await _send_raw(app, topic, [(a.alert_id.encode(), encode(a)) for a in alerts], "alerts")


_GAUGES: dict = {}


def _alert_gauges(registry) -> dict:
    """Gauges of the alerts now firing: what the Alertmanager annotation says (one set per registry)."""
    if id(registry) not in _GAUGES:
        labels = ["agency", "area_layer", "area", "route"]
        _GAUGES[id(registry)] = dict(
            observed=Gauge("divert_spike_alert_observed_calls", "Calls since the firing spike started "
                           "(its whole window), by area and route", labels, registry=registry),
            expected=Gauge("divert_spike_alert_expected_calls", "Calls expected over that window",
                           labels, registry=registry),
            minutes=Gauge("divert_spike_alert_window_minutes", "Minutes from the spike's start to the "
                          "end of the last window evaluated", labels, registry=registry),
            low=Gauge("divert_spike_alert_expected_low_calls", "Bottom of the band of normal counts "
                      "for that window", labels, registry=registry),
            high=Gauge("divert_spike_alert_expected_high_calls", "Top of the band of normal counts "
                       "for that window", labels, registry=registry),
            closed=Gauge("divert_spike_windows_closed_until_seconds", "End (Unix time) of the last "
                         "event-time window the spike detector evaluated, per agency", ["agency"],
                         registry=registry),
            event=Gauge("divert_spike_alert_event", "1 while the firing spike runs during a declared "
                        "event (reference/events/<agency>.yaml), labelled with its name",
                        [*labels, "event"], registry=registry),
        )
    return _GAUGES[id(registry)]


def publish(metrics, m: SpikeMonitor, alert_gauges: dict | None = None) -> None:
    """Set the spike gauges from the detector's latest reading of every series."""
    for (agency, key), r in m.detector.readings.items():
        labels = (agency, key.layer, key.area, key.route)
        metrics.spike_observed.labels(*labels).set(r.observed)
        metrics.spike_expected.labels(*labels).set(r.expected)
        metrics.spike_upper_bound.labels(*labels).set(r.upper_bound)
        metrics.spike_score.labels(*labels).set(r.score if math.isfinite(r.score) else 0.0)
        metrics.spike_alert_firing.labels(*labels).set(1 if r.firing else 0)
    for agency, n in m.windows.late.items():
        metrics.spike_late_calls.labels(agency).set(n)
    for agency, n in m.detector.series_refused.items():
        metrics.spike_series_refused.labels(agency).set(n)
    if alert_gauges is None:
        return
    for agency, end in m.detector._last_end.items():
        alert_gauges["closed"].labels(agency).set(end.timestamp())
    alert_gauges["event"].clear()  # only the events of alerts firing now
    for (agency, key), f in m.detector.figures.items():
        labels = (agency, key.layer, key.area, key.route)
        alert_gauges["observed"].labels(*labels).set(f.observed)
        alert_gauges["expected"].labels(*labels).set(f.expected)
        alert_gauges["minutes"].labels(*labels).set((f.end - f.start).total_seconds() / 60)
        alert_gauges["high"].labels(*labels).set(f.expected_high)
        alert_gauges["low"].labels(*labels).set(f.expected_low)
        if f.event:
            alert_gauges["event"].labels(*labels, f.event).set(1)
