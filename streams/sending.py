"""Produce a batch of pre-encoded records and wait until the broker has them all.

Waiting per batch (not per record) keeps produce requests full, and waiting before the
next batch means Faust commits an input offset only after its outputs are written:
at-least-once, with keys that make every downstream write idempotent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


async def send_all(app, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
    futures = [await app.producer.send(topic, key, value, None, None, None) for key, value in records]
    if futures:
        await asyncio.gather(*futures)
    return len(futures)
