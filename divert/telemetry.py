"""The worker's Prometheus metrics, in one place.

Metrics are built on a registry given by the caller, so tests build a fresh
``CollectorRegistry()`` each and share no global state.
"""

from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.records_in = Counter(
            "divert_records_in", "Records read from a topic", ["topic"], registry=r)
        self.records_out = Counter(
            "divert_records_out", "Records written to a topic", ["topic"], registry=r)
        self.dead_letters = Counter(
            "divert_dead_letters", "Input records sent to the dead-letter topic, by reason",
            ["topic", "reason"], registry=r)
        self.batch_seconds = Histogram(
            "divert_batch_seconds", "Time to process one batch in an agent, from take to sent",
            ["agent"], registry=r,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.sink_batch_seconds = Histogram(
            "divert_sink_batch_seconds", "Time to write one batch to the database, retries included",
            ["table"], registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
        self.sink_retries = Counter(
            "divert_sink_retries", "Batches retried because the database was unavailable",
            ["table"], registry=r)
        self.event_to_row_seconds = Histogram(
            "divert_event_to_row_seconds",
            "From a call's event time (received_at) to its row committed in the database. "
            "A replay of history shows its age here, not the pipeline's delay.",
            ["agency"], registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600))
        # spike alerts (streams/spikes.py): the last closed event-time window of each series
        spike = ["agency", "area_layer", "area", "route"]
        self.spike_observed = Gauge(
            "divert_spike_observed_calls", "Diversion-eligible calls in the last closed window "
            "(summed over span_windows), by area and route", spike, registry=r)
        self.spike_expected = Gauge(
            "divert_spike_expected_calls", "Calls expected in that window for this area and hour of the week",
            spike, registry=r)
        self.spike_upper_bound = Gauge(
            "divert_spike_upper_bound_calls", "Upper bound of normal volume in that window (NaN while "
            "the series is still learning)", spike, registry=r)
        self.spike_score = Gauge(
            "divert_spike_score", "Standard deviations of the observed count above the expected one",
            spike, registry=r)
        self.spike_alert_firing = Gauge(
            "divert_spike_alert_firing", "1 while a spike alert is firing for this area and route "
            "(after k windows above the bound, until volume returns)", spike, registry=r)
        self.spike_series_refused = Gauge(
            "divert_spike_series_refused", "New spike series (area × route) not tracked because the agency "
            "already holds max_series of them (reference/alerting.yaml), since the worker started",
            ["agency"], registry=r)
        self.spike_late_calls = Gauge(
            "divert_spike_late_calls", "Calls that arrived after their window had closed (counted in the "
            "database, not in live alerting), since the worker started", ["agency"], registry=r)
        # the alerts now firing: what the Alertmanager annotation says
        self.spike_alert_observed = Gauge(
            "divert_spike_alert_observed_calls", "Calls since the firing spike started (its whole window), "
            "by area and route", spike, registry=r)
        self.spike_alert_expected = Gauge(
            "divert_spike_alert_expected_calls", "Calls expected over that window", spike, registry=r)
        self.spike_alert_minutes = Gauge(
            "divert_spike_alert_window_minutes", "Minutes from the spike's start to the end of the last "
            "window evaluated", spike, registry=r)
        self.spike_alert_low = Gauge(
            "divert_spike_alert_expected_low_calls", "Bottom of the band of normal counts for that window",
            spike, registry=r)
        self.spike_alert_high = Gauge(
            "divert_spike_alert_expected_high_calls", "Top of the band of normal counts for that window",
            spike, registry=r)
        self.spike_windows_closed = Gauge(
            "divert_spike_windows_closed_until_seconds", "End (Unix time) of the last event-time window the "
            "spike detector evaluated, per agency", ["agency"], registry=r)
        self.spike_alert_event = Gauge(
            "divert_spike_alert_event", "1 while the firing spike runs during a declared event "
            "(reference/events/<agency>.yaml), labelled with its name", [*spike, "event"], registry=r)
        self.consumer_lag = Gauge(
            "divert_consumer_lag",
            "Records behind the partition's end offset. The embedded broker (tansu) "
            "under-reports end offsets, so this reads low there; it is right on Apache Kafka.",
            ["topic", "partition"], registry=r)


def publish_spikes(metrics: WorkerMetrics, monitor) -> None:
    """Set the spike gauges from the detector's latest reading of every series and the figures
    of every alert now firing (``monitor``: a divert.spikes.SpikeMonitor)."""
    detector = monitor.detector
    for (agency, key), r in detector.readings.items():
        labels = (agency, key.layer, key.area, key.route)
        metrics.spike_observed.labels(*labels).set(r.observed)
        metrics.spike_expected.labels(*labels).set(r.expected)
        metrics.spike_upper_bound.labels(*labels).set(r.upper_bound)
        metrics.spike_score.labels(*labels).set(r.score if math.isfinite(r.score) else 0.0)
        metrics.spike_alert_firing.labels(*labels).set(1 if r.firing else 0)
    for agency, n in monitor.windows.late.items():
        metrics.spike_late_calls.labels(agency).set(n)
    for agency, n in detector.series_refused.items():
        metrics.spike_series_refused.labels(agency).set(n)
    for agency, end in detector.last_window_end.items():
        metrics.spike_windows_closed.labels(agency).set(end.timestamp())
    metrics.spike_alert_event.clear()  # only the events of alerts firing now
    for (agency, key), f in detector.figures.items():
        labels = (agency, key.layer, key.area, key.route)
        metrics.spike_alert_observed.labels(*labels).set(f.observed)
        metrics.spike_alert_expected.labels(*labels).set(f.expected)
        metrics.spike_alert_minutes.labels(*labels).set((f.end - f.start).total_seconds() / 60)
        metrics.spike_alert_high.labels(*labels).set(f.expected_high)
        metrics.spike_alert_low.labels(*labels).set(f.expected_low)
        if f.event:
            metrics.spike_alert_event.labels(*labels, f.event).set(1)
