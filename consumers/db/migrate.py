"""Versioned schema migrations for divert's database (PostgreSQL, or TimescaleDB).

A migration is ``migrations/NNN_name.sql``, plain PostgreSQL. Its optional companion
``migrations/NNN_name.timescale.sql`` is applied right after it, in the same transaction,
when the ``timescaledb`` extension is available on the server. A migration's version is its
file stem without the suffix (``001_core``); the number orders them and must be unique.

Each applied migration is recorded in ``schema_migrations`` with the flavour it was applied
in (``postgresql`` or ``timescaledb``; a database keeps the flavour of its first
migration) and a checksum of the SQL that ran, so a second run
applies nothing and an applied migration edited afterwards is refused. Each migration runs
in its own transaction holding a transaction-level advisory lock, so two workers that start
together apply each migration once (the lock is released with the transaction, even on a
server whose sessions outlive their connections, such as PGlite).

>>> [m.version for m in discover()][:2]
['001_core', '002_call_metrics']

Driver errors become :class:`~consumers.exceptions.SinkUnavailable` (the database cannot be
reached) or :class:`~consumers.exceptions.MigrationError` (a migration failed), raised
``from`` the driver's exception.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from consumers.exceptions import MigrationError, SinkUnavailable

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock key: the bytes of "divert" as a bigint
LOCK_KEY = int.from_bytes(b"divert", "big")
CONNECT_TIMEOUT = 10.0

_NAME = re.compile(r"^(?P<number>\d{3,})_(?P<name>[a-z0-9_]+)$")

# class 08 (connection exception), 57P (operator intervention: shutdown, crash), 53 (resources)
_UNAVAILABLE_SQLSTATE = ("08", "57P", "53")

_DRIVER_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
                  asyncpg.InternalClientError)

_BOOKKEEPING = """
create table if not exists schema_migrations (
    version     text        primary key,
    flavor      text        not null check (flavor in ('postgresql', 'timescaledb')),
    checksum    text        not null,
    applied_at  timestamptz not null default now()
)
"""


@dataclass(frozen=True)
class Migration:
    """One migration: its plain SQL and, when it has one, its TimescaleDB companion."""

    version: str
    sql: str
    timescale_sql: str | None = None

    def script(self, timescale: bool) -> str:
        if timescale and self.timescale_sql:
            return f"{self.sql}\n;\n{self.timescale_sql}"
        return self.sql

    def checksum(self, timescale: bool) -> str:
        return hashlib.sha256(self.script(timescale).encode()).hexdigest()


def discover(directory: Path | str = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in ``directory``, ordered by number; inconsistent files raise."""
    directory = Path(directory)
    plain: dict[str, Path] = {}
    companions: dict[str, Path] = {}
    for path in sorted(directory.glob("*.sql")):
        stem, _, suffix = path.name.partition(".")
        if suffix not in ("sql", "timescale.sql") or not _NAME.match(stem):
            raise MigrationError(f"{path.name}: expected NNN_name.sql or NNN_name.timescale.sql")
        (companions if suffix == "timescale.sql" else plain)[stem] = path
    orphans = sorted(set(companions) - set(plain))
    if orphans:
        raise MigrationError(f"TimescaleDB companion without a plain migration: {orphans}")
    numbers: dict[int, str] = {}
    for stem in plain:
        number = int(_NAME.match(stem)["number"])
        if number in numbers:
            raise MigrationError(f"two migrations numbered {number}: {numbers[number]}, {stem}")
        numbers[number] = stem
    return [
        Migration(
            version=stem,
            sql=plain[stem].read_text(),
            timescale_sql=companions[stem].read_text() if stem in companions else None,
        )
        for _, stem in sorted(numbers.items())
    ]


async def migrate(
    conn_or_dsn: asyncpg.Connection | str,
    *,
    directory: Path | str = MIGRATIONS_DIR,
    timescale: bool | None = None,
) -> list[str]:
    """Apply the pending migrations; return the versions applied by this call, in order.

    ``conn_or_dsn`` is an open asyncpg connection (left open) or a DSN (connected to and
    closed here). ``timescale`` forces the flavour; by default the TimescaleDB companions run
    when the server has the ``timescaledb`` extension available.
    """
    migrations = discover(directory)
    if isinstance(conn_or_dsn, str):
        conn = await _connect(conn_or_dsn)
        try:
            return await _migrate(conn, migrations, timescale)
        finally:
            await _close(conn)
    return await _migrate(conn_or_dsn, migrations, timescale)


async def timescale_available(conn: asyncpg.Connection) -> bool:
    """Whether the server can ``create extension timescaledb``."""
    row = await _fetch(conn, "select 1 from pg_available_extensions where name = 'timescaledb'")
    return row is not None


async def _migrate(conn: asyncpg.Connection, migrations: list[Migration],
                   timescale: bool | None) -> list[str]:
    await _in_lock(conn, None, _BOOKKEEPING)
    if timescale is None:
        # a database keeps the flavour it was first migrated in, even if TimescaleDB is
        # installed later: its tables are not hypertables, so Timescale DDL would not fit
        first = await _fetch(conn, "select flavor from schema_migrations order by applied_at, "
                                   "version limit 1")
        timescale = (first["flavor"] == "timescaledb" if first is not None
                     else await timescale_available(conn))
    flavor = "timescaledb" if timescale else "postgresql"
    applied: list[str] = []
    for migration in migrations:
        if await _apply(conn, migration, timescale, flavor):
            applied.append(migration.version)
    return applied


async def _apply(conn: asyncpg.Connection, migration: Migration, timescale: bool,
                 flavor: str) -> bool:
    """Apply one migration unless recorded; True when this call applied it."""
    try:
        async with conn.transaction():
            await conn.execute(f"select pg_advisory_xact_lock({LOCK_KEY})")
            done = await conn.fetchrow(
                "select flavor, checksum from schema_migrations where version = $1",
                migration.version)
            if done is not None:
                _check_unchanged(migration, done["flavor"], done["checksum"])
                return False
            await conn.execute(migration.script(timescale))
            await conn.execute(
                "insert into schema_migrations (version, flavor, checksum) values ($1, $2, $3)",
                migration.version, flavor, migration.checksum(timescale))
            log.info("applied migration %s (%s)", migration.version, flavor)
            return True
    except _DRIVER_ERRORS as exc:
        raise _translate(exc, migration.version) from exc


def _check_unchanged(migration: Migration, flavor: str, checksum: str) -> None:
    if migration.checksum(flavor == "timescaledb") != checksum:
        raise MigrationError(
            "applied already, and its SQL has changed since: add a new migration instead "
            "of editing an applied one", version=migration.version)


async def _in_lock(conn: asyncpg.Connection, version: str | None, sql: str) -> None:
    try:
        async with conn.transaction():
            await conn.execute(f"select pg_advisory_xact_lock({LOCK_KEY})")
            await conn.execute(sql)
    except _DRIVER_ERRORS as exc:
        raise _translate(exc, version) from exc


async def _fetch(conn: asyncpg.Connection, sql: str) -> asyncpg.Record | None:
    try:
        return await conn.fetchrow(sql)
    except _DRIVER_ERRORS as exc:
        raise _translate(exc, None) from exc


async def _connect(dsn: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    except _DRIVER_ERRORS as exc:
        raise _translate(exc, None) from exc


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await conn.close(timeout=5)
    except Exception:  # closing is best effort: the work is committed or rolled back
        conn.terminate()


def _translate(exc: BaseException, version: str | None) -> SinkUnavailable | MigrationError:
    """A driver or OS error as a DivertError: unreachable database, or a failed migration."""
    if isinstance(exc, OSError | TimeoutError | asyncpg.InterfaceError):
        return SinkUnavailable(f"database unreachable: {type(exc).__name__}: {exc}")
    state = getattr(exc, "sqlstate", None) or ""
    if state.startswith(_UNAVAILABLE_SQLSTATE) or isinstance(
            exc, asyncpg.InvalidCatalogNameError | asyncpg.InvalidAuthorizationSpecificationError):
        return SinkUnavailable(f"database unavailable: {type(exc).__name__}: {exc}")
    detail = getattr(exc, "detail", None)
    hint = getattr(exc, "hint", None)
    extra = "".join(f" ({x})" for x in (detail, hint) if x)
    return MigrationError(f"{type(exc).__name__}: {exc}{extra}", version=version)


__all__ = ["Migration", "MIGRATIONS_DIR", "discover", "migrate", "timescale_available"]
