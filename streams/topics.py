"""The topics divert reads and writes, and their explicit creation.

Names can carry a prefix (``DIVERT_TOPIC_PREFIX``) so several pipelines, or tests, share
one cluster. Topics are created explicitly with one partition count: a table's partition
count must equal its source topic's, and the embedded broker would auto-create 4.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from streams.exceptions import StreamError


@dataclass(frozen=True)
class Topics:
    prefix: str = ""
    partitions: int = 4

    @classmethod
    def from_env(cls) -> Topics:
        return cls(os.environ.get("DIVERT_TOPIC_PREFIX", ""),
                   int(os.environ.get("DIVERT_PARTITIONS", "4")))

    def raw(self, city: str) -> str:
        return f"{self.prefix}cad.raw.{city}"

    @property
    def cad_events(self) -> str:
        return f"{self.prefix}cad.events"

    @property
    def officer_activity(self) -> str:
        return f"{self.prefix}officer.activity"

    @property
    def calls_classified(self) -> str:
        return f"{self.prefix}calls.classified"

    @property
    def crime_reports(self) -> str:
        return f"{self.prefix}crime.reports"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}deadletter"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}alerts.diversion"

    @property
    def spike_calls(self) -> str:
        """calls.classified re-keyed by agency, so one worker counts all of an agency's calls."""
        return f"{self.prefix}spikes.calls"

    def all(self, cities: list[str] | tuple[str, ...]) -> list[str]:
        return [self.raw(c) for c in cities] + [
            self.cad_events, self.officer_activity, self.calls_classified, self.crime_reports,
            self.deadletter, self.alerts, self.spike_calls]


async def ensure_topics(bootstrap: str, names: list[str], num_partitions: int) -> list[str]:
    """Create the topics that do not exist yet; return the ones created."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import KafkaError, TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(n, num_partitions=num_partitions, replication_factor=1) for n in missing])
            except TopicAlreadyExistsError:
                pass
        return missing
    except KafkaError as exc:
        raise StreamError(f"could not create topics on {bootstrap}: {exc}") from exc
    finally:
        await admin.close()


async def broker_answers(bootstrap: str, timeout: float = 5.0) -> bool:
    """True when the broker answers a metadata request."""
    import asyncio

    from aiokafka import AIOKafkaClient

    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not answering yet"
        return False
    finally:
        await client.close()
