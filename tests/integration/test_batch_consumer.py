"""The batched consumer of the hot hops, on the real broker: what a batch holds.

A backlog spread over partitions is handed over in batches that draw on every partition (the
store hop's window refresh costs less when a batch covers less time), every record exactly once
and in its partition's order, the offsets committed after each batch; a record larger than the
per-partition fetch size still arrives.
"""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.batch_consumer import BatchConsumer
from streams.topics import ensure_topics

PARTITIONS = 4
PER_PARTITION = 1500
RECORD = 1000  # bytes: a fetch of 1 MiB holds about a thousand


async def _fill(bootstrap: str, topic: str, big: bytes) -> None:
    await ensure_topics(bootstrap, [topic], PARTITIONS)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=8 * 1024 * 1024,
                                max_batch_size=1024 * 1024, linger_ms=20)
    await producer.start()
    try:
        sends = [await producer.send(topic, f"{p}:{i}:".encode().ljust(RECORD, b"."), partition=p)
                 for i in range(PER_PARTITION) for p in range(PARTITIONS)]
        sends.append(await producer.send(topic, big, partition=0))
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def _consume(bootstrap: str, topic: str, group: str, expected: int) -> list[list]:
    batches: list[list] = []
    got = asyncio.Event()

    async def handle(records) -> None:
        batches.append([(r.partition, r.offset, r.value) for r in records])
        if sum(map(len, batches)) >= expected:
            got.set()

    consumer = BatchConsumer(name="test", bootstrap=bootstrap, group_id=group, topics=[topic],
                             handle=handle, max_records=2000, poll_ms=200)
    await consumer.start()
    try:
        await asyncio.wait_for(got.wait(), 60)
        await asyncio.sleep(0.5)  # the last batch's commit
    finally:
        await consumer.stop()
    return batches


async def _committed(bootstrap: str, topic: str, group: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in range(PARTITIONS)}
    finally:
        await consumer.stop()


def test_a_backlog_comes_in_full_batches_drawn_from_every_partition(embedded_stack):
    bootstrap = embedded_stack.broker_bootstrap
    topic, group = f"t{uuid.uuid4().hex[:8]}.backlog", f"g{uuid.uuid4().hex[:8]}"
    big = b"B" * (2 * 1024 * 1024 + 1)  # twice the per-partition fetch size
    asyncio.run(_fill(bootstrap, topic, big))
    total = PARTITIONS * PER_PARTITION + 1

    batches = asyncio.run(_consume(bootstrap, topic, group, total))

    records = [r for batch in batches for r in batch]
    assert len(records) == total == len({(p, o) for p, o, _ in records})  # each exactly once
    for p in range(PARTITIONS):
        assert [o for q, o, _ in records if q == p] == list(range(PER_PARTITION + (p == 0)))
    assert any(value == big for _, _, value in records)
    # one partition's 1,500 cannot fill a batch of 2,000: drawn in turn from the partitions,
    # every batch but the last is full and holds records of more than one
    assert all(len(b) == 2000 for b in batches[:-1]), [len(b) for b in batches]
    assert all(len({p for p, _, _ in b}) >= 2 for b in batches[:-1])
    assert asyncio.run(_committed(bootstrap, topic, group)) == {
        p: PER_PARTITION + (p == 0) for p in range(PARTITIONS)}
