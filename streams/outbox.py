"""Produce pre-encoded records in batches and wait until the broker has them all.

Records are queued topic by topic in the order given, one record batch per partition rather
than one future per record (aiokafka's ``send`` costs tens of µs a record; a batch append a few),
with the partition chosen as Kafka's default partitioner does (murmur2 of the key), so one
incident's records keep their order on one partition and land where any Kafka client would
put them. ``flush`` waits for every acknowledgement; a caller commits its input only after
``flush`` returns, so every output is written before its input is acknowledged.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2
from mode import Service

log = logging.getLogger(__name__)


@lru_cache(maxsize=65536)  # one incident's key goes to several topics with the same partition count
def partition_of(key: bytes, partitions: int) -> int:
    """Kafka's default partition for a key (the Java client's murmur2, positive, modulo).

    >>> from aiokafka.partitioner import DefaultPartitioner
    >>> key = b"seattle:2023000319821"
    >>> partition_of(key, 4) == DefaultPartitioner()(key, [0, 1, 2, 3], [0, 1, 2, 3])
    True
    """
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class Outbox:
    def __init__(self, bootstrap: str, *, linger_ms: int = 5):
        self.bootstrap = bootstrap
        self.linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._pending: list[asyncio.Future] = []
        self._partitions: dict[str, int] = {}
        self._spread = itertools.count()  # records without a key go round the partitions

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=self.linger_ms,
                                            acks="all", max_batch_size=1024 * 1024,
                                            max_request_size=8 * 1024 * 1024)
                await producer.start()
                self._producer = producer
            return self._producer

    async def enqueue(self, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
        producer = await self._started()
        if topic not in self._partitions:
            self._partitions[topic] = len(await producer.partitions_for(topic))
        count = self._partitions[topic]
        batches = {}
        n = 0
        for key, value in records:
            partition = partition_of(key, count) if key is not None else next(self._spread) % count
            batch = batches.get(partition)
            if batch is None or batch.append(timestamp=None, key=key, value=value) is None:
                if batch is not None:  # full: send it and start the next one for this partition
                    self._pending.append(await producer.send_batch(batch, topic, partition=partition))
                batch = batches[partition] = producer.create_batch()
                batch.append(timestamp=None, key=key, value=value)
            n += 1
        for partition, batch in batches.items():
            self._pending.append(await producer.send_batch(batch, topic, partition=partition))
        return n

    async def flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending)

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


class OutboxService(Service):
    """Closes an Outbox when the Faust app stops (after the consumers that use it)."""

    def __init__(self, outbox: Outbox, **kwargs):
        super().__init__(**kwargs)
        self.outbox = outbox

    async def on_stop(self) -> None:
        await self.outbox.close()


async def produce_all(bootstrap: str, topic: str, records: Sequence[tuple[bytes | None, bytes]], *,
                      chunk: int = 2000, on_progress: Callable[[int], None] = lambda n: None) -> int:
    """Send pre-encoded records in order, each chunk acknowledged before the next."""
    from aiokafka.errors import KafkaError

    from streams.exceptions import StreamError

    outbox = Outbox(bootstrap)
    try:
        for begin in range(0, len(records), chunk):
            part = records[begin:begin + chunk]
            await outbox.enqueue(topic, part)
            await outbox.flush()
            on_progress(len(part))
        return len(records)
    except KafkaError as exc:
        raise StreamError(f"could not produce to {topic} on {bootstrap}: {exc}") from exc
    finally:
        await outbox.close()


async def send_until_acknowledged(producer, topic: str, records: list[tuple[bytes, bytes]],
                                  what: str = "records") -> None:
    """Produce pre-encoded records through a Faust app's producer and wait for the broker to have
    them all, retrying until it does.

    Faust acknowledges a ``take_events`` batch when the agent's body finishes or fails, so a
    failure must not escape here: the batch stays unacknowledged while this retries."""
    delay = 0.5
    while records:
        try:
            futures = [await producer.send(topic, key, value, None, None, None) for key, value in records]
            await asyncio.gather(*futures)
            return
        except KafkaError as exc:
            log.warning("sending %d %s failed (%s); retrying in %.1f s", len(records), what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
