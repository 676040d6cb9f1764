"""The Faust app: one normalize agent per city, one classify agent, built from settings.

Built by a function, not at import, so a test or a second worker gets its own app.
Settings follow ARCHITECTURE.md: short session timeouts (the embedded broker answers a join
after half of it), a few ms of producer linger, at-least-once (never exactly_once), and no
leader topic or web server, which divert does not use.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from divert.telemetry import WorkerMetrics
from streams import classify, normalize
from streams.topics import Topics


@dataclass(frozen=True)
class WorkerConfig:
    bootstrap: str
    cities: tuple[str, ...]
    topics: Topics = Topics()
    app_id: str = "divert"
    batch_size: int = 1000
    batch_within: float = 0.05
    session_timeout: float = 6.0


def create_app(config: WorkerConfig, metrics: WorkerMetrics) -> faust.App:
    from divert.adapters import load_adapter
    from divert.classify import Classifier
    from divert.crosswalk import load_crosswalk
    from divert.policy import load_policy

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
    )
    policy = load_policy()
    classifiers: dict[str, Classifier] = {}

    def classifier_for(agency: str) -> Classifier:
        if agency not in classifiers:
            classifiers[agency] = Classifier(load_crosswalk(agency), policy)
        return classifiers[agency]

    for city in config.cities:
        normalize.attach(app, config.topics, load_adapter(city), metrics,
                         batch_size=config.batch_size, within=config.batch_within)
    classify.attach(app, config.topics, classifier_for, metrics,
                    batch_size=config.batch_size, within=config.batch_within)
    return app
