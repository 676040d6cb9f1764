"""Agent detect_spikes: calls.classified → alerts.diversion, and the spike gauges on /metrics.

Windows close by event time (the watermark in divert.spikes), never by the worker's clock.
On its first batch the detector is rebuilt from the stored calls before that batch's first
call (the database is the source of truth), so a restart neither forgets what is normal nor
re-sends alerts it already sent (alerts the history implies but the alerts table lacks are
sent); without a database it starts empty and learns from the stream. This assumes the store
is not further behind than this agent, which holds when both run in one worker. The store agent (streams/store.py) writes
alerts.diversion to the alerts table, so this agent only sends to the topic.

One worker must see all of an agency's calls for its counts to be whole: run one worker per
agency (``--city``) or one worker in all; with several workers in one group each would count
only its partitions (a repartition by agency is the way past that).
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import UTC, datetime, timedelta

import msgspec
from aiokafka.errors import KafkaError

from divert.spikes import CITY_LAYER, SpikeMonitor, closed_windows, load_alert_settings
from schemas import decode_classified_call, encode

log = logging.getLogger(__name__)
HISTORY_DAYS = 56  # enough windows to learn every hour of the week several times



def attach(app, ctx) -> None:
    topics, metrics, config = ctx.topics, ctx.metrics, ctx.config
    source = app.topic(topics.calls_classified, key_serializer="raw", value_serializer="raw",
                       partitions=topics.partitions)
    state: dict = {}

    async def monitor(first_calls) -> SpikeMonitor:
        """Built on the first batch: history from the database up to the window of the first call
        the stream delivers (the stream delivers the rest), so nothing is counted twice."""
        if "m" not in state:
            state["m"] = SpikeMonitor(load_alert_settings)
            if config.database_url and first_calls:
                first = min(c.call.received_at for c in first_calls)
                try:
                    state["m"], unsent = await rebuild_from_database(config.database_url, config.cities,
                                                                     before=first)
                    await _send(app, topics.alerts, unsent)
                    log.info("spike detector rebuilt from the stored calls before %s", first)
                except Exception as exc:  # noqa: BLE001 — a fresh detector still works; say why it is fresh
                    log.warning("spike detector starts empty: could not read history from the database (%s)", exc)
        return state["m"]

    @app.agent(source, name="detect_spikes")
    async def detect_spikes(stream):
        async for events in stream.take_events(config.batch_size, within=config.batch_within):
            by_partition: dict[int, list] = {}
            for e in events:
                try:
                    call = decode_classified_call(e.message.value or b"")
                except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
                    continue  # the store dead-letters undecodable records of this topic
                by_partition.setdefault(e.message.partition, []).append(call)
            m = await monitor([c for calls in by_partition.values() for c in calls])
            # the watermark is the least of the partitions' latest event times (divert.spikes)
            m.windows.partitions = frozenset(
                tp.partition for tp in app.consumer.assignment() if tp.topic == source.get_topic_name())
            alerts = []
            for partition, calls in by_partition.items():
                alerts += m.observe(calls, partition)
            await _send(app, topics.alerts, alerts)
            metrics.records_out.labels(topics.alerts).inc(len(alerts))
            publish(metrics, m)


async def _send(app, topic: str, alerts) -> None:
    """Send the alerts and wait for the broker to have them all, retrying until it does.

    Faust acknowledges a ``take_events`` batch when the agent's body finishes or fails, so a
    failure must not escape here: the batch stays unacknowledged while this retries. A worker
    stopped meanwhile loses nothing either: on restart the detector is rebuilt from the
    database and sends the alerts the stored calls imply but the alerts table lacks."""
    delay = 0.5
    while alerts:
        try:
            futures = [await app.producer.send(topic, a.alert_id.encode(), encode(a), None, None, None)
                       for a in alerts]
            await asyncio.gather(*futures)
            return
        except KafkaError as exc:
            log.warning("sending %d alerts failed (%s); retrying in %.1f s", len(alerts), exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def publish(metrics, m: SpikeMonitor) -> None:
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


_COVERAGE = """
select date_bin($2::interval, received_at, timestamptz '2000-01-03 00:00:00+00') as start, count(*)
from calls where agency = $1 and time_precision = 'second' and received_at >= $3 and received_at < $4
group by 1
"""
_COUNTS = """
select date_bin($2::interval, received_at, timestamptz '2000-01-03 00:00:00+00') as start,
       layer, area, route, count(*)
from call_areas
where agency = $1 and eligible and time_precision = 'second' and route = any($5::text[])
  and layer = any($6::text[]) and received_at >= $3 and received_at < $4
group by 1, 2, 3, 4
"""
_OPEN_CALLS = """
select incident_id, received_at, eligible, route, areas, policy_version
from calls where agency = $1 and time_precision = 'second' and received_at >= $2
"""


async def rebuild_from_database(database_url: str, agencies,
                                before: datetime | None = None) -> tuple[SpikeMonitor, list]:
    """The detector as if it had watched the stored calls of the last HISTORY_DAYS live, and the
    alerts that history implies but the alerts table does not hold yet (the store may have
    written calls this agent had not yet counted, e.g. on a first start after a backfill)."""
    import asyncpg

    from divert.spikes import rebuild_from_counts
    from schemas import CadEvent, ClassifiedCall

    conn = await asyncpg.connect(database_url)
    try:
        windows, open_calls, latest = [], [], {}
        for agency in agencies:
            s = load_alert_settings(agency)
            newest = await conn.fetchval(
                "select max(received_at) from calls where agency = $1 and time_precision = 'second'", agency)
            if newest is None:
                continue
            # windows the watermark has passed are rebuilt from counts; the open ones from calls
            cut = _window_floor(newest - timedelta(minutes=s.allowed_lateness_minutes), s.window)
            if before is not None:  # the stream delivers the calls from there on
                cut = min(cut, _window_floor(before, s.window))
            since = cut - timedelta(days=HISTORY_DAYS)
            version = await conn.fetchval(
                "select policy_version from calls where agency = $1 order by received_at desc limit 1", agency)
            coverage = {r[0]: r[1] for r in await conn.fetch(_COVERAGE, agency, s.window, since, cut)}
            layers = [la for la in s.layers if la != CITY_LAYER]
            counts = [tuple(r) for r in await conn.fetch(
                _COUNTS, agency, s.window, since, cut, list(s.routes), [*layers, CITY_LAYER])]
            windows += closed_windows(agency, coverage, counts, version or "unknown", s.window)
            latest[agency] = cut
            for r in await conn.fetch(_OPEN_CALLS, agency, cut):
                areas = msgspec.json.decode(r["areas"]) if isinstance(r["areas"], str) else (r["areas"] or {})
                open_calls.append(ClassifiedCall(
                    call=CadEvent(agency=agency, incident_id=r["incident_id"], source="911",
                                  initial_type="stored", received_at=r["received_at"], areas=areas),
                    apco_code=None, crosswalk_confidence=0.0, route=r["route"], eligible_initial=r["eligible"],
                    eligible=r["eligible"], reasons=[], policy_version=r["policy_version"]))
        implied: list = []
        monitor = rebuild_from_counts(windows, load_alert_settings, implied)
        stored = {(r[0], r[1]) for r in await conn.fetch(
            "select alert_id, state from alerts where alert_id = any($1::text[])",
            list({a.alert_id for a in implied}))} if implied else set()
    finally:
        await conn.close()
    unsent = [a for a in implied if (a.alert_id, a.state) not in stored]
    for agency, cut in latest.items():
        monitor.windows.mark_closed(agency, cut)
    monitor.windows.add(open_calls)  # the open windows, with their incident ids: no double count
    return monitor, unsent


def _window_floor(t: datetime, window: timedelta) -> datetime:
    from divert.spikes import window_start

    return window_start(t.astimezone(UTC), window)


