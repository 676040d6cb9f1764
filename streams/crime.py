"""Produce crime records (pre-encoded CrimeReport or DeadLetter bytes) to a topic, chunk by chunk.

Not an agent: ``divert crime replay`` uses it to publish a city's crime export on
``crime.reports``; the store agent (streams/store.py) writes the topic into crime_reports.
Each chunk is awaited before the next, so the command returns only after the broker holds
every record; keys are ``agency:report_id``, so a re-run is stored once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence


async def produce_records(bootstrap: str, topic: str, records: Sequence[tuple[bytes | None, bytes]],
                          *, chunk: int = 2000) -> int:
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaError

    from streams.exceptions import StreamError

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all",
                                max_batch_size=256 * 1024)
    try:
        await producer.start()
        sent = 0
        for begin in range(0, len(records), chunk):
            futures = [await producer.send(topic, value, key=key) for key, value in records[begin:begin + chunk]]
            await asyncio.gather(*futures)
            sent += len(futures)
        return sent
    except KafkaError as exc:
        raise StreamError(f"could not produce to {topic} on {bootstrap}: {exc}") from exc
    finally:
        await producer.stop()
