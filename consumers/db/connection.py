"""Opening a connection to divert's database: the one place a command, an agent or a report
source gets one. 'Cannot connect' becomes :class:`~consumers.exceptions.DatabaseUnavailable`,
a one-line error the CLI prints as it is.

    async with connect() as conn:            # the configured database (DIVERT_DATABASE_URL)
        report = await build_report(conn, ...)

    report = query(build_report, city, ...)  # the same from synchronous code (a CLI command)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import asyncpg

from consumers.exceptions import DatabaseUnavailable

T = TypeVar("T")

# what a refused or broken connection raises, before any query runs
_CANNOT_CONNECT = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def configured_url() -> str:
    from divert.settings import services

    return services().database_url


@asynccontextmanager
async def connect(url: str | None = None, *, timeout: float = 10.0) -> AsyncIterator[asyncpg.Connection]:
    """One connection, closed on exit; ``url`` defaults to the configured database."""
    try:
        conn = await asyncpg.connect(url or configured_url(), timeout=timeout)
    except _CANNOT_CONNECT as exc:
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    try:
        yield conn
    finally:
        await conn.close()


async def answers(url: str, *, timeout: float = 5.0) -> bool:
    """True once the database at ``url`` accepts a connection and runs a query."""
    try:
        async with connect(url, timeout=timeout) as conn:
            return await conn.fetchval("select 1") == 1
    except DatabaseUnavailable:
        return False


def query(read: Callable[..., Awaitable[T]], *args, url: str | None = None, **kwargs) -> T:
    """Run ``read(conn, *args, **kwargs)`` on a fresh connection, from synchronous code."""
    async def run() -> T:
        async with connect(url) as conn:
            return await read(conn, *args, **kwargs)

    return asyncio.run(run())
