"""Produce pre-encoded records in batches and wait until the broker has them all.

Records are queued topic by topic in the order given (one incident's records keep their
order: same key, same partition), and ``flush`` waits for every acknowledgement; a caller
commits its input only after ``flush`` returns, so every output is written before its input
is acknowledged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence

from aiokafka import AIOKafkaProducer
from mode import Service


class Outbox:
    def __init__(self, bootstrap: str, *, linger_ms: int = 5):
        self.bootstrap = bootstrap
        self.linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._pending: list[asyncio.Future] = []

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
        n = 0
        for key, value in records:
            self._pending.append(await producer.send(topic, value, key=key))
            n += 1
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
