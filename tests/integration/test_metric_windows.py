"""The metric windows on plain PostgreSQL: tables the writer refreshes per batch (issue 17).

Whatever the writer does — a call re-stored at another time, route or area, a batch delivered
twice, two workers writing one agency at once — each window must hold exactly what the date_bin
view of migration 002 computes over call_areas. One template renders every definition.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from consumers.db import metrics, writer
from consumers.db.migrate import MIGRATIONS_DIR, migrate
from consumers.db.writer import write_calls
from tests.records import classified_call

T = datetime(2023, 6, 4, 23, 18, 15, tzinfo=UTC)
ORDER = ", ".join(("agency", "layer", "area", "bucket", "route", "source", "policy_version"))


def _normalized(sql: str) -> str:
    sql = re.sub(r"--[^\n]*", "", sql)
    return re.sub(r"\(\s+", "(", re.sub(r"\s+", " ", sql)).strip()


def _migration_002(width: str, *, timescale: bool = False) -> str:
    if timescale:
        text = (MIGRATIONS_DIR / "002_call_metrics.timescale.sql").read_text()
        return re.search(rf"create materialized view call_metrics_{width}\b.*?(?=;)", text, re.S).group(0)
    text = (MIGRATIONS_DIR / "002_call_metrics.sql").read_text()
    return re.search(rf"create view call_metrics_{width} as.*?(?=;)", text, re.S).group(0)


def test_one_template_renders_every_definition_of_migration_002():
    for width in metrics.WIDTHS:
        assert _normalized(metrics.view(width)) == _normalized(_migration_002(width))
        assert _normalized(metrics.continuous_aggregate(width)) == _normalized(_migration_002(width, timescale=True))


async def _view_rows(conn, width: str) -> list[dict]:
    """The window as the old view computes it over call_areas (its SELECT, verbatim from 002)."""
    select = _migration_002(width).split(" as\n", 1)[1]
    return [dict(r) for r in await conn.fetch(f"select * from ({select}) v order by {ORDER}")]


async def _table_rows(conn, width: str) -> list[dict]:
    return [dict(r) for r in await conn.fetch(f"select * from {metrics.table(width)} order by {ORDER}")]


async def _assert_windows_match_call_areas(conn) -> None:
    for width in metrics.WIDTHS:
        table, view = await _table_rows(conn, width), await _view_rows(conn, width)
        assert len(table) == len(view), width
        for stored, expected in zip(table, view, strict=True):
            assert stored.keys() == expected.keys()
            for column, value in expected.items():
                if isinstance(value, float):  # sums of floats: the order of the rows may differ
                    assert stored[column] == pytest.approx(value, rel=1e-9), (width, column)
                else:
                    assert stored[column] == value, (width, column)


@pytest.fixture(params=["copy", "arrays"])
def path(request, monkeypatch):
    """The writer's COPY path, or the array path PGlite takes (forced here on PostgreSQL)."""
    if request.param == "arrays":
        monkeypatch.setattr(writer, "_SERVER_AND_STAGE",
                            f"select true, null, coalesce({metrics.ARE_TABLES}, false)")
    return request.param


async def test_the_windows_are_tables_readable_by_the_dashboards(db_dsn):
    await migrate(db_dsn)
    conn = await asyncpg.connect(db_dsn)
    try:
        for width in metrics.WIDTHS:
            name = metrics.table(width)
            assert await conn.fetchval("select relkind::text from pg_class where oid = $1::regclass", name) == "r"
            assert await conn.fetchval("select has_table_privilege('grafana_reader', $1, 'select')", name)
    finally:
        await conn.close()


async def test_a_call_stored_again_elsewhere_leaves_its_old_buckets(db_dsn, path):
    await migrate(db_dsn)
    conn = await asyncpg.connect(db_dsn)
    try:
        await write_calls(conn, [classified_call("c1", T, areas={"district": "D1"}),
                                 classified_call("c2", T, areas={"district": "D1"})])
        # c1 again: two days later, another district, another route
        later = T + timedelta(days=2, hours=3)
        await write_calls(conn, [classified_call("c1", later, areas={"district": "D2"}, route="police",
                                                 eligible=False)])
        rows = await conn.fetch("select bucket, area, route, calls from call_metrics_1h where layer = 'district' "
                                "order by bucket")
        assert [tuple(r) for r in rows] == [
            (T.replace(minute=0, second=0), "D1", "crisis", 1),
            (later.replace(minute=0, second=0), "D2", "police", 1)]
        # c2 again, same time, now in no district: its district buckets empty out and go
        await write_calls(conn, [classified_call("c2", T, areas={})])
        assert await conn.fetchval("select count(*) from call_metrics_1d where layer = 'district' and area = 'D1'") == 0
        await _assert_windows_match_call_areas(conn)
    finally:
        await conn.close()


async def test_a_redelivered_batch_changes_no_window(db_dsn, path):
    await migrate(db_dsn)
    conn = await asyncpg.connect(db_dsn)
    try:
        batch = [classified_call(f"c{i}", T + timedelta(minutes=7 * i), arrived_at=T + timedelta(minutes=7 * i + 3))
                 for i in range(40)]
        await write_calls(conn, batch)
        before = {w: await _table_rows(conn, w) for w in metrics.WIDTHS}
        await write_calls(conn, batch)
        await write_calls(conn, batch[5:9])
        assert {w: await _table_rows(conn, w) for w in metrics.WIDTHS} == before
        # a late call lands in its own time's buckets
        await write_calls(conn, [classified_call("late", T - timedelta(days=30))])
        assert await conn.fetchval("select calls from call_metrics_1d where bucket = $1 and layer = 'city'",
                                   (T - timedelta(days=30)).replace(hour=0, minute=0, second=0)) == 1
        await _assert_windows_match_call_areas(conn)
    finally:
        await conn.close()


async def test_two_writers_of_one_agency_see_each_others_rows(db_dsn):
    """The second refresh of a bucket waits for the first transaction, then counts its rows."""
    await migrate(db_dsn)
    first, second = await asyncpg.connect(db_dsn), await asyncpg.connect(db_dsn)
    try:
        open_transaction = first.transaction()
        await open_transaction.start()
        await write_calls(first, [classified_call("a", T)])  # refreshed, not yet committed
        waiting = asyncio.ensure_future(write_calls(second, [classified_call("b", T)]))
        await asyncio.sleep(0.5)
        assert not waiting.done()  # held by the agency's lock
        await open_transaction.commit()
        assert await waiting == 1
        assert await first.fetchval("select calls from call_metrics_1m where layer = 'city'") == 2
        await _assert_windows_match_call_areas(first)
    finally:
        await first.close()
        await second.close()


async def test_the_windows_equal_the_view_over_real_calls(db_dsn, shared_data):
    """A real slice of San Antonio, in batches, some calls re-stored moved in time and area,
    a batch redelivered: every window equals migration 002's view over call_areas."""
    from tests.integration.test_dashboards_sql import seed_san_antonio

    await seed_san_antonio(db_dsn, shared_data, every=97)
    conn = await asyncpg.connect(db_dsn)
    try:
        stored = await conn.fetch("select * from calls order by received_at limit 3000")
        moved = [classified_call(r["incident_id"], r["received_at"] + timedelta(hours=5 + i % 40),
                                 agency=r["agency"], areas={"district": f"MOVED{i % 3}"}, route="police",
                                 eligible=False, time_precision="second",
                                 arrived_at=r["received_at"] + timedelta(hours=5 + i % 40, minutes=9))
                 for i, r in enumerate(itertools.islice(stored, 0, None, 7))]
        await write_calls(conn, moved)
        await write_calls(conn, moved[:100])
        await _assert_windows_match_call_areas(conn)
        assert await conn.fetchval("select count(*) from call_metrics_1m") > 1000
    finally:
        await conn.close()
