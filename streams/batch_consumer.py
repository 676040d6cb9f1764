"""A batched consumer inside the Faust app, for the hot hops.

Faust pays about a dozen event-loop callbacks per message before an agent sees it
(ARCHITECTURE.md); on the hops every record takes, that cost dominates. This service polls
with aiokafka's ``getmany`` (a call per partition's fetch, not per record), hands the whole batch to a
handler, and commits the batch's offsets only after the handler has finished — so every
output of a batch is written before its input is acknowledged (at-least-once; every write
downstream is keyed, so a batch handled twice changes nothing).

A batch closes on size (``max_records``) or on time (``poll_ms``), so a quiet feed is not
held back waiting for a full batch. Workers with the same group share the partitions; on a
rebalance a batch whose commit is refused is simply handled again by the new owner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from mode import Service

log = logging.getLogger(__name__)

Handler = Callable[[Sequence[ConsumerRecord]], Awaitable[None]]


class BatchConsumer(Service):
    def __init__(self, *, name: str, bootstrap: str, group_id: str, topics: Sequence[str],
                 handle: Handler, max_records: int = 5000, poll_ms: int = 50,
                 session_timeout: float = 6.0, on_lag: Callable[[TopicPartition, int], None] | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self._name = name
        self.bootstrap, self.group_id, self.topic_names = bootstrap, group_id, list(topics)
        self.handle, self.max_records, self.poll_ms = handle, max_records, poll_ms
        self.session_timeout = session_timeout
        self.on_lag = on_lag
        self.consumer: AIOKafkaConsumer | None = None

    @property
    def label(self) -> str:
        return f"BatchConsumer: {self._name}"

    @property
    def shortlabel(self) -> str:
        return self._name

    async def on_start(self) -> None:
        self.consumer = AIOKafkaConsumer(
            *self.topic_names, bootstrap_servers=self.bootstrap, group_id=self.group_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            session_timeout_ms=int(self.session_timeout * 1000),
            heartbeat_interval_ms=max(int(self.session_timeout * 1000 / 6), 500),
            max_poll_records=self.max_records, fetch_max_bytes=64 * 1024 * 1024,
            # a fetch waits at most one poll for data (the embedded broker does not answer early)
            fetch_max_wait_ms=self.poll_ms,
            # what a backlog holds in memory per partition; a larger record still comes whole
            # (the broker sends a partition's first record batch whatever its size)
            max_partition_fetch_bytes=1024 * 1024)
        await self.consumer.start()

    async def on_stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()

    async def _handled(self, records) -> bool:
        """Handle a batch, retrying it (not polling past it) until it succeeds or the service
        stops: the handlers isolate bad records themselves, so what fails here is the broker
        or the database, and the batch's offsets must not be committed before it is handled."""
        delay = 0.5
        while not self.should_stop:
            try:
                await self.handle(records)
                return True
            except Exception:  # noqa: BLE001 — logged; the batch is kept and retried
                log.exception("%s: handling a batch of %d failed; retrying it in %.1f s",
                              self._name, len(records), delay)
                await self.sleep(delay)
                delay = min(delay * 2, 10.0)
        return False

    async def _next_batch(self) -> dict[TopicPartition, list[ConsumerRecord]]:
        """Up to ``max_records``, drawn within ``poll_ms`` from every partition with records.

        ``getmany`` hands over one partition's fetched records before the next's, so one call
        on a backlog returns a single partition's records. Calls are keyed by incident, so a
        partition holds about one in four of the calls of the time it covers, and a batch of one
        partition spans more time, and touches more metric buckets for the store hop to
        recompute, than a batch drawn across them. Asking again until the batch is full (or the
        poll's time is up) takes each partition's next fetched records in turn.
        """
        consumer = self.consumer
        batch: dict[TopicPartition, list[ConsumerRecord]] = {}
        wanted = self.max_records
        deadline = asyncio.get_running_loop().time() + self.poll_ms / 1000
        while wanted > 0 and not self.should_stop:
            left_ms = max(int((deadline - asyncio.get_running_loop().time()) * 1000), 0)
            got = await consumer.getmany(timeout_ms=left_ms, max_records=wanted)
            for tp, records in got.items():
                batch.setdefault(tp, []).extend(records)
                wanted -= len(records)
            if not got or left_ms == 0:
                break
        return batch

    @Service.task
    async def _poll(self) -> None:
        consumer = self.consumer
        while not self.should_stop:
            batch = await self._next_batch()
            if not batch:
                continue
            records = [r for recs in batch.values() for r in recs]
            if not await self._handled(records):
                return
            offsets = {tp: recs[-1].offset + 1 for tp, recs in batch.items()}
            try:
                await consumer.commit(offsets)
            except (CommitFailedError, IllegalStateError) as exc:
                # partitions moved to another worker mid-batch: it handles them again (keyed writes)
                log.warning("%s: commit refused after a rebalance (%s); the new owner redoes it",
                            self._name, exc)
            except KafkaError as exc:
                log.warning("%s: commit failed (%s); the batch may be handled again", self._name, exc)
            if self.on_lag:
                for tp in offsets:
                    if (high := consumer.highwater(tp)) is not None:
                        self.on_lag(tp, max(high - offsets[tp], 0))
