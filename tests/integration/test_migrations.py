"""The migrations on plain PostgreSQL (the embedded default), and the runner's guarantees.

The TimescaleDB flavour of the same migrations is tested in test_timescale_pglite.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from consumers.db.migrate import MIGRATIONS_DIR, discover, migrate
from consumers.db.writer import write_calls
from consumers.exceptions import MigrationError, SinkUnavailable
from divert.exceptions import DivertError
from schemas.records import BLOCK_ADDRESS_PATTERN
from tests.records import classified_call, one_hour_of_calls

TABLES = {"calls", "call_areas", "officer_activity", "crime_reports", "dead_letters", "alerts", "programs",
          "program_evaluations", "program_evaluation_days", "schema_migrations"}
METRICS = ("call_metrics_1m", "call_metrics_1h", "call_metrics_1d")
CALL_METRICS_COLUMNS = [
    "bucket", "agency", "policy_version", "layer", "area", "route", "source", "calls",
    "eligible_initial", "eligible", "officer_initiated", "responded", "unit_minutes_on_scene",
    "response_p50_seconds", "response_p90_seconds",
]


async def _connect(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn)


async def test_migrate_applies_everything_once_then_nothing(db_dsn):
    first = await migrate(db_dsn)
    assert first == [m.version for m in discover()]
    assert await migrate(db_dsn) == []
    conn = await _connect(db_dsn)
    try:
        rows = await conn.fetch("select version, flavor from schema_migrations order by version")
        assert [(r["version"], r["flavor"]) for r in rows] == [(v, "postgresql") for v in first]
        tables = {r["tablename"] for r in await conn.fetch(
            "select tablename from pg_tables where schemaname = 'public'")}
        assert TABLES <= tables, TABLES - tables  # later migrations add tables of their own
        for view in METRICS:
            columns = [r["attname"] for r in await conn.fetch(
                "select attname from pg_attribute where attrelid = $1::regclass and attnum > 0"
                " and not attisdropped order by attnum", view)]
            assert columns == CALL_METRICS_COLUMNS, view
        assert await conn.fetchval(
            "select count(*) from pg_extension where extname = 'timescaledb'") == 0
    finally:
        await conn.close()


async def test_two_workers_migrating_at_once_apply_each_migration_once(db_dsn):
    results = await asyncio.gather(migrate(db_dsn), migrate(db_dsn), migrate(db_dsn))
    applied = [v for result in results for v in result]
    assert sorted(applied) == [m.version for m in discover()]


async def test_calls_hold_no_caller_identity_and_only_block_addresses(db_dsn):
    await migrate(db_dsn)
    sql = (MIGRATIONS_DIR / "009_block_address.sql").read_text()
    # the CHECKs (replaced by 009) use the records' pattern verbatim (POSIX ARE accepts its syntax)
    assert sql.count(f"block_address ~ '{BLOCK_ADDRESS_PATTERN}'") == 2
    conn = await _connect(db_dsn)
    try:
        columns = {r["column_name"] for r in await conn.fetch(
            "select column_name from information_schema.columns where table_schema = 'public'")}
        assert not {c for c in columns if "caller" in c or "phone" in c}
        now = datetime.now(UTC)
        await write_calls(conn, [classified_call("ok1", now, block_address="7900 BLOCK PINEBROOK DR"),
                                   classified_call("ok2", now, block_address="1ST AVE / PIKE ST"),
                                   classified_call("ok3", now, block_address=None)])
        for address in ("5237 N 35TH ST", "#5237 N 35TH ST", "N5237 W 35TH ST", "APT 4 5237 N 35TH ST"):
            with pytest.raises(asyncpg.CheckViolationError):
                await write_calls(conn, [classified_call("bad", now, block_address=address)])
    finally:
        await conn.close()


async def test_inserted_calls_show_up_in_call_metrics(db_dsn):
    await migrate(db_dsn)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    rows = one_hour_of_calls(hour)
    conn = await _connect(db_dsn)
    try:
        await write_calls(conn, rows)
        await write_calls(conn, rows)  # a replay is stored once
        assert await conn.fetchval("select count(*) from calls") == 5
        assert await conn.fetchval("select district from calls where incident_id = 'c1'") == "D1"
        hourly = await conn.fetch(
            "select source, calls, eligible_initial, eligible, officer_initiated, responded,"
            " unit_minutes_on_scene, response_p50_seconds, response_p90_seconds"
            " from call_metrics_1h where agency = 'testville' and bucket = $1 and layer = 'city'"
            " order by source",
            hour)
        by_source = {r["source"]: r for r in hourly}
        assert set(by_source) == {"911", "officer_initiated"}
        demand = by_source["911"]
        assert (demand["calls"], demand["eligible_initial"], demand["eligible"],
                demand["officer_initiated"], demand["responded"]) == (3, 3, 2, 0, 2)
        assert demand["unit_minutes_on_scene"] == pytest.approx(60.0)
        assert demand["response_p50_seconds"] == pytest.approx(450.0)
        assert demand["response_p90_seconds"] == pytest.approx(570.0)
        assert by_source["officer_initiated"]["officer_initiated"] == 1
        assert await conn.fetchval("select sum(calls) from call_metrics_1m where layer = 'city'") == 4
        assert await conn.fetchval(
            "select sum(calls) from call_metrics_1m where layer = 'beat' and area = 'B11'") == 4
        assert await conn.fetchval(
            "select sum(calls) from call_metrics_1d where bucket = $1 and layer = 'district'",
            hour.replace(hour=0)) == 5
    finally:
        await conn.close()


async def test_a_failed_migration_rolls_back_and_names_itself(db_dsn, tmp_path: Path):
    (tmp_path / "001_first.sql").write_text("create table first_table (id int);")
    (tmp_path / "002_broken.sql").write_text("create table half (id int);\ncreate tabel oops;")
    with pytest.raises(MigrationError, match="002_broken") as info:
        await migrate(db_dsn, directory=tmp_path)
    assert isinstance(info.value.__cause__, asyncpg.PostgresSyntaxError)
    conn = await _connect(db_dsn)
    try:
        assert await conn.fetchval("select to_regclass('first_table') is not null")
        assert await conn.fetchval("select to_regclass('half') is null")
        assert await conn.fetchval("select array_agg(version) from schema_migrations") == [
            "001_first"]
    finally:
        await conn.close()
    (tmp_path / "002_broken.sql").write_text("create table half (id int);")
    assert await migrate(db_dsn, directory=tmp_path) == ["002_broken"]


async def test_an_applied_migration_edited_afterwards_is_refused(db_dsn, tmp_path: Path):
    (tmp_path / "001_first.sql").write_text("create table first_table (id int);")
    assert await migrate(db_dsn, directory=tmp_path) == ["001_first"]
    (tmp_path / "001_first.sql").write_text("create table first_table (id bigint);")
    with pytest.raises(MigrationError, match="001_first.*changed"):
        await migrate(db_dsn, directory=tmp_path)


async def test_timescale_forced_without_the_extension_is_a_migration_error(db_dsn):
    with pytest.raises(MigrationError, match="001_core"):
        await migrate(db_dsn, timescale=True)


async def test_an_unreachable_database_is_sink_unavailable():
    with pytest.raises(SinkUnavailable) as info:
        await migrate("postgresql://postgres@127.0.0.1:1/nowhere")
    assert isinstance(info.value, DivertError)
    assert isinstance(info.value.__cause__, OSError)


async def test_a_missing_database_is_sink_unavailable(db_dsn):
    with pytest.raises(SinkUnavailable):
        await migrate(db_dsn.rsplit("/", 1)[0] + "/no_such_database_here")


@pytest.mark.parametrize(("files", "message"), [
    ({"001_a.timescale.sql": ""}, "companion without a plain migration"),
    ({"001_a.sql": "", "001_b.sql": ""}, "two migrations numbered 1"),
    ({"1_a.sql": ""}, "expected NNN_name.sql"),
    ({"001_a.postgres.sql": ""}, "expected NNN_name.sql"),
])
def test_inconsistent_migration_files_are_refused(tmp_path: Path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(MigrationError, match=message):
        discover(tmp_path)


