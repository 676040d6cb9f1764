"""Database sinks: one per table, writing batches through a shared connection pool."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from consumers.batching import BatchingSink
from consumers.db import writer
from consumers.db.writer import CLIENT_REFUSED, is_unavailable
from consumers.exceptions import SinkUnavailable

log = logging.getLogger(__name__)

# the database refused the data itself, not the connection: a constraint, a NUL, or a value
# the driver would not send
REFUSED = (asyncpg.PostgresError, *CLIENT_REFUSED)


class Database:
    """A lazily opened asyncpg pool; 'cannot connect' becomes SinkUnavailable."""

    def __init__(self, url: str, *, max_size: int = 4):
        self.url = url
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        async with self._lock:
            if self._pool is None:
                try:
                    self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self.max_size,
                                                           timeout=5, command_timeout=60)
                except Exception as exc:
                    if is_unavailable(exc) or isinstance(exc, asyncpg.PostgresError):
                        raise SinkUnavailable(f"cannot connect to the database: {exc}") from exc
                    raise
            return self._pool

    async def run(self, write: Callable[..., Awaitable[int]], batch: Sequence) -> int:
        pool = await self.pool()
        try:
            async with pool.acquire(timeout=10) as conn:
                return await write(conn, batch)
        except Exception as exc:
            if is_unavailable(exc):
                # a broken connection is dropped from the pool by asyncpg; retry with a new one
                raise SinkUnavailable(f"the database connection failed: {exc}") from exc
            raise

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


class TableSink(BatchingSink):
    """Writes a batch in one statement; when the database refuses the data (a constraint, a
    value out of range) rather than the connection, it writes the records one by one and
    keeps the ones refused in ``rejected`` with the database's message, for the dead-letter
    topic: one bad record never holds back or loses the others."""

    def __init__(self, database: Database, table: str, write: Callable[..., Awaitable[int]], **kw):
        super().__init__(**kw)
        self.name = table
        self.database = database
        self._write = write
        self.rejected: list[tuple[object, str]] = []

    async def write(self, batch: list) -> int:
        try:
            await self.database.run(self._write, batch)
        except REFUSED as exc:
            why = f"{type(exc).__name__}: {exc}"
            if len(batch) == 1:
                return await self.refused(batch[0], why)
            log.warning("%s: the database refused a batch of %d (%s); writing one by one",
                        self.name, len(batch), why)
            return sum([await self.write([record]) for record in batch])
        return len(batch)

    async def refused(self, record, why: str) -> int:
        """Keep a refused record for the caller to dead-letter; nothing was stored."""
        self.rejected.append((record, why))
        return 0

    def take_rejected(self) -> list[tuple[object, str]]:
        rejected, self.rejected = self.rejected, []
        return rejected


class DeadLetterSink(TableSink):
    """Dead letters have nowhere further to go: one the database refuses is stored reduced
    (payload by its hash, ASCII text, the database's reason in the detail) rather than lost."""

    async def refused(self, record, why: str) -> int:
        from divert.deadletter import reduced

        if record.payload.startswith('{"preview"') and record.detail.startswith("stored reduced"):
            log.error("%s: the database refused even the reduced dead letter (%s)", self.name, why)
            return await super().refused(record, why)
        log.warning("%s: the database refused a dead letter (%s); storing it reduced", self.name, why)
        return await self.write([reduced(record, why)])


def sink_for(database: Database, table: str, **kw) -> TableSink:
    """The sink that writes ``table`` (dead letters keep a reduced form when refused)."""
    cls = DeadLetterSink if table == "dead_letters" else TableSink
    return cls(database, table, WRITERS[table], **kw)


WRITERS = {
    "calls": writer.write_calls,
    "officer_activity": writer.write_officer_activity,
    "crime_reports": writer.write_crime_reports,
    "dead_letters": writer.write_dead_letters,
    "alerts": writer.write_alerts,
}
