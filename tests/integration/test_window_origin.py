"""The window origin is one fact: divert.periods.WINDOW_ORIGIN, which the database serves as
window_origin() (migration 015) for the dashboards' date_bin, readable by the dashboards' login."""

from __future__ import annotations

import asyncio

import asyncpg

from consumers.db.migrate import migrate
from divert.dashboards.model import load_dashboards
from divert.periods import WINDOW_ORIGIN, WINDOW_ORIGIN_SQL
from tests.integration.test_least_privilege import READER, READER_PASSWORD, admin_sql, with_login


def test_window_origin_is_the_cores_and_the_readers(db_dsn):
    async def check():
        assert "015_window_origin" in await migrate(db_dsn)
        await admin_sql(db_dsn, f"alter role {READER} login password '{READER_PASSWORD}'")
        conn = await asyncpg.connect(db_dsn)
        try:
            assert await conn.fetchval("select window_origin()") == WINDOW_ORIGIN
            assert await conn.fetchval(f"select window_origin() = {WINDOW_ORIGIN_SQL}")
            # immutable: the planner folds it to the constant, as it did the literal
            assert await conn.fetchval("select provolatile from pg_proc where proname = 'window_origin'") == b"i"
            plan = await conn.fetchval("explain (verbose, format json) select date_bin('1 hour', now(), window_origin())")
            assert "window_origin" not in plan
        finally:
            await conn.close()
        conn = await asyncpg.connect(with_login(db_dsn, READER, READER_PASSWORD))
        try:
            assert await conn.fetchval("select window_origin()") == WINDOW_ORIGIN
        finally:
            await conn.close()

    asyncio.run(check())


def test_no_dashboard_writes_the_origin_itself():
    literal = f"{WINDOW_ORIGIN:%Y-%m-%d}"
    for board in load_dashboards():
        for q in board.queries():
            if q.kind == "sql":
                assert literal not in q.text, f"{board.uid} {q.where}: bucket with window_origin(), not {literal}"
