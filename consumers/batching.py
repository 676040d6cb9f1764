"""A sink that buffers records and writes them a batch at a time, retrying until it can.

Subclasses write only ``write(batch)``, which returns how many rows were stored. ``flush``
retries a batch while the database is unreachable (``SinkUnavailable``), with capped backoff,
and returns only when the batch is stored: the agent that calls it does not ack its input meanwhile, so the broker keeps the
records and nothing is lost while the database is down; a replayed batch changes nothing
because every write is keyed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from consumers.exceptions import SinkUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)


class BatchingSink(Generic[T]):
    name = "sink"

    def __init__(self, *, max_backoff: float = 5.0,
                 on_written: Callable[[str, int, float], None] = lambda name, n, seconds: None,
                 on_retry: Callable[[], None] = lambda: None):
        self._buffer: list[T] = []
        self.max_backoff = max_backoff
        self.on_written = on_written
        self.on_retry = on_retry

    def add(self, records: Sequence[T]) -> None:
        self._buffer.extend(records)

    async def write(self, batch: list[T]) -> int:
        raise NotImplementedError

    async def flush(self) -> int:
        """Write the buffered records; return how many were stored (refused ones are not)."""
        batch, self._buffer = self._buffer, []
        if not batch:
            return 0
        delay = 0.1
        started = time.perf_counter()
        while True:
            try:
                stored = await self.write(batch)
            except SinkUnavailable as exc:
                log.warning("%s: %s; retrying %d records in %.1f s", self.name, exc, len(batch), delay)
                self.on_retry()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
                continue
            self.on_written(self.name, stored, time.perf_counter() - started)
            return stored
