"""The Faust app, built from settings.

The hot hops run as batched consumers inside the app (streams/batch_consumer.py): ingest
(cad.raw.<city> → normalized and classified topics), store (canonical topics → database) and the
spike keyer (calls.classified → spikes.calls, keyed by agency).
Every agent module in ``AGENTS`` attaches itself too; agents suit the lighter, stateful work.

Built by a function, not at import, so a test or a second worker gets its own app.
Settings follow ARCHITECTURE.md: short session timeouts (the embedded broker answers a join
after half of it), a few ms of producer linger, at-least-once (never exactly_once), and no
leader topic or web server, which divert does not use.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cached_property

import faust
import platformdirs

from divert.telemetry import WorkerMetrics
from streams.topics import Topics

# each module has ``attach(app, ctx: WorkerContext)``; a new agent is a new module named here
AGENTS: tuple[str, ...] = ("streams.spikes",)


@dataclass(frozen=True)
class WorkerConfig:
    bootstrap: str
    cities: tuple[str, ...]
    topics: Topics = Topics()
    database_url: str | None = None
    app_id: str = "divert"
    batch_size: int = 5000
    batch_within: float = 0.05
    session_timeout: float = 6.0


@dataclass
class WorkerContext:
    """What agents share: settings, metrics, and the core objects built once per worker."""

    config: WorkerConfig
    metrics: WorkerMetrics
    _classifiers: dict = field(default_factory=dict)
    _adapters: dict = field(default_factory=dict)

    @property
    def topics(self) -> Topics:
        return self.config.topics

    @cached_property
    def policy(self):
        from divert.policy import load_policy

        return load_policy()

    def adapter(self, city: str):
        from divert.adapters import load_adapter

        if city not in self._adapters:
            self._adapters[city] = load_adapter(city)
        return self._adapters[city]

    def classifier_for(self, agency: str):
        from divert.classify import Classifier
        from divert.crosswalk import load_crosswalk

        if agency not in self._classifiers:
            self._classifiers[agency] = Classifier(load_crosswalk(agency), self.policy)
        return self._classifiers[agency]


def create_app(config: WorkerConfig, metrics: WorkerMetrics) -> faust.App:
    datadir = platformdirs.user_data_path("divert") / "faust" / config.app_id
    datadir.parent.mkdir(parents=True, exist_ok=True)  # Faust makes only the last folder
    app = faust.App(
        config.app_id,
        broker=f"kafka://{config.bootstrap}",
        store="memory://",
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=config.session_timeout,
        broker_heartbeat_interval=max(config.session_timeout / 6, 0.5),
        broker_rebalance_timeout=config.session_timeout * 5,
        broker_commit_interval=1.0,
        producer_linger=0.005,
        topic_disable_leader=True,
        web_enabled=False,
        # Faust's own state (empty: tables live in memory) goes beside the user's data, not in the cwd
        datadir=str(datadir),
    )
    ctx = WorkerContext(config, metrics)
    for module in AGENTS:
        importlib.import_module(module).attach(app, ctx)
    _attach_hot_path(app, ctx)
    return app


def _attach_hot_path(app: faust.App, ctx: WorkerContext) -> None:
    from consumers.db.sink import Database
    from streams import ingest, spikes, store
    from streams.batch_consumer import BatchConsumer
    from streams.outbox import Outbox, OutboxService

    config = ctx.config

    def on_lag(tp, lag: int) -> None:
        ctx.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)

    common = dict(bootstrap=config.bootstrap, session_timeout=config.session_timeout,
                  max_records=config.batch_size, poll_ms=int(config.batch_within * 1000), on_lag=on_lag)
    def outbox() -> Outbox:
        # one per consumer: a consumer's flush waits for its own sends only, so it commits
        # exactly what it produced and had acknowledged, never another consumer's batch
        box = Outbox(config.bootstrap)
        app.add_dependency(OutboxService(box))  # started first, so stopped after the consumers
        return box

    app.add_dependency(BatchConsumer(
        name="ingest", group_id=f"{config.app_id}.ingest",
        topics=[config.topics.raw(c) for c in config.cities], handle=ingest.handler(ctx, outbox()), **common))
    # the spike detector's first hop (streams.spikes): every call takes it too
    app.add_dependency(BatchConsumer(
        name="spike-keys", group_id=f"{config.app_id}.spikes", topics=[config.topics.calls_classified],
        handle=spikes.keyer(ctx, outbox()), **(common | {"on_lag": None})))  # the lag gauge is the store's
    if config.database_url:
        database = Database(config.database_url)
        app.add_dependency(BatchConsumer(
            name="store", group_id=f"{config.app_id}.store", topics=store.stored_topics(config.topics),
            handle=store.handler(ctx, outbox(), database), **common))
