"""The worker's Prometheus metrics, in one place.

Metrics are built on a registry given by the caller, so tests build a fresh
``CollectorRegistry()`` each and share no global state.
"""

from __future__ import annotations

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
        self.consumer_lag = Gauge(
            "divert_consumer_lag",
            "Records behind the partition's end offset. The embedded broker (tansu) "
            "under-reports end offsets, so this reads low there; it is right on Apache Kafka.",
            ["topic", "partition"], registry=r)
