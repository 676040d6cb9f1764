"""The TimescaleDB migration path, against PGlite built with TimescaleDB (2.23).

TimescaleDB itself cannot be installed here; PGlite (WASM PostgreSQL 17) with the extension
can, and ``@electric-sql/pglite-socket`` serves it over the PostgreSQL protocol on loopback
(tests/pglite/server.mjs). This module installs it with ``npm ci`` when tests/pglite has no
node_modules, starts it on a free port and tears it down after.

What asyncpg needs against pglite-socket (found by experiment):

- ``ssl=False``: the server answers asyncpg's SSLRequest with something other than 'S'/'N'
  ("rejected SSL upgrade").
- ``statement_cache_size=0``: every connection shares PGlite's single backend session, so
  named prepared statements from an earlier connection still exist and the next
  connection's ``__asyncpg_stmt_1__`` collides. Session state (settings, session advisory
  locks) outlives a connection for the same reason.
- ``terminate()`` rather than ``close()``: the server does not hang up on Terminate, so a
  graceful close waits for its timeout.
- One connection at a time (others queue), and no COPY.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from consumers.db.migrate import discover, migrate
from consumers.db.writer import write_calls
from tests.records import one_hour_of_calls

PGLITE_DIR = Path(__file__).resolve().parents[1] / "pglite"
START_TIMEOUT = 60.0

CALL_METRICS_COLUMNS = [
    "bucket", "agency", "policy_version", "layer", "area", "route", "source", "calls",
    "eligible_initial", "eligible", "officer_initiated", "responded", "unit_minutes_on_scene",
    "response_p50_seconds", "response_p90_seconds",
]


def _npm_ci() -> None:
    if (PGLITE_DIR / "node_modules" / "@unni-craftsman" / "pglite").is_dir():
        return
    npm = shutil.which("npm")
    assert npm, "npm is needed for the TimescaleDB tests (node >= 20)"
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PGLITE_DIR, check=True,
                   timeout=300)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pglite_port():
    """A PGlite+TimescaleDB server on 127.0.0.1; yields its port."""
    _npm_ci()
    node = shutil.which("node")
    assert node, "node >= 20 is needed for the TimescaleDB tests"
    port = _free_port()
    proc = subprocess.Popen(
        [node, "server.mjs", str(port)], cwd=PGLITE_DIR, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PGLITE_HOST": "127.0.0.1"},
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        seen = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith("PGLITE READY"):
                break
        assert seen and seen[-1].startswith("PGLITE READY"), (
            f"PGlite server did not start (exit {proc.poll()}): {''.join(seen)}")
        yield port
    finally:
        proc.terminate()  # the server also exits when its stdin closes
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def migrated(pglite_port):
    """One connection to the server (it serves one at a time), and what two migrate() runs
    applied."""
    conn = await asyncpg.connect(host="127.0.0.1", port=pglite_port, user="postgres",
                                 database="postgres", ssl=False, statement_cache_size=0,
                                 timeout=30)
    try:
        first = await migrate(conn)
        second = await migrate(conn)
        yield conn, first, second
    finally:
        conn.terminate()


@pytest.fixture
def conn(migrated):
    return migrated[0]


async def test_migrate_applies_every_migration_once(migrated):
    conn, first, second = migrated
    assert first == [m.version for m in discover()]
    assert second == []
    flavors = await conn.fetch("select version, flavor from schema_migrations order by version")
    assert [(r["version"], r["flavor"]) for r in flavors] == [(v, "timescaledb") for v in first]


async def test_timescaledb_extension_is_installed(conn):
    version = await conn.fetchval(
        "select extversion from pg_extension where extname = 'timescaledb'")
    assert version is not None
    major, minor = (int(x) for x in version.split(".")[:2])
    assert (major, minor) >= (2, 13), version


async def test_time_keyed_tables_are_hypertables(conn):
    rows = await conn.fetch(
        "select hypertable_name, compression_enabled from timescaledb_information.hypertables"
        " where hypertable_schema = 'public'")
    hypertables = {r["hypertable_name"]: r["compression_enabled"] for r in rows}
    for table in ("calls", "call_areas", "officer_activity", "crime_reports"):
        assert hypertables.get(table) is True, hypertables
    dims = await conn.fetch(
        "select hypertable_name, column_name from timescaledb_information.dimensions")
    assert ("calls", "received_at") in {(r["hypertable_name"], r["column_name"]) for r in dims}


async def test_call_metrics_are_realtime_continuous_aggregates(conn):
    rows = await conn.fetch(
        "select view_name, materialized_only from timescaledb_information.continuous_aggregates")
    caggs = {r["view_name"]: r["materialized_only"] for r in rows}
    assert caggs == {"call_metrics_1m": False, "call_metrics_1h": False,
                     "call_metrics_1d": False}


async def test_call_metrics_have_the_plain_postgresql_columns(conn):
    for view in ("call_metrics_1m", "call_metrics_1h", "call_metrics_1d"):
        rows = await conn.fetch(
            "select attname from pg_attribute where attrelid = $1::regclass and attnum > 0"
            " and not attisdropped order by attnum", view)
        assert [r["attname"] for r in rows] == CALL_METRICS_COLUMNS, view


async def test_refresh_retention_and_compression_policies_are_set(conn):
    rows = await conn.fetch(
        "select proc_name, hypertable_name, config from timescaledb_information.jobs"
        " where hypertable_name is not null")
    jobs = {(r["proc_name"], r["hypertable_name"]) for r in rows}
    for table in ("calls", "officer_activity", "crime_reports"):
        assert ("policy_compression", table) in jobs
    for view in ("call_metrics_1m", "call_metrics_1h", "call_metrics_1d"):
        assert ("policy_refresh_continuous_aggregate", view) in jobs
    assert ("policy_retention", "call_metrics_1m") in jobs
    # no age-based retention on the source of truth: historical replays must stay
    assert not {j for j in jobs if j[0] == "policy_retention" and j[1] == "calls"}


async def test_inserted_calls_show_up_in_call_metrics(conn):
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    rows = one_hour_of_calls(hour)
    await write_calls(conn, rows)
    await write_calls(conn, rows)  # a replay is stored once

    hourly = await conn.fetch(
        "select source, sum(calls)::int as calls, sum(eligible_initial)::int as ei,"
        " sum(eligible)::int as el, sum(officer_initiated)::int as oi,"
        " sum(responded)::int as responded, sum(unit_minutes_on_scene) as um,"
        " max(response_p50_seconds) as p50, max(response_p90_seconds) as p90"
        " from call_metrics_1h where agency = 'testville' and bucket = $1 and layer = 'district' and area = 'D1'"
        " group by source order by source", hour)
    by_source = {r["source"]: r for r in hourly}
    assert set(by_source) == {"911", "officer_initiated"}
    demand = by_source["911"]
    assert (demand["calls"], demand["ei"], demand["el"], demand["oi"]) == (3, 3, 2, 0)
    assert demand["responded"] == 2
    assert demand["um"] == pytest.approx(60.0)  # 30 minutes on scene x 2 units
    assert demand["p50"] == pytest.approx(450.0)  # median of 300 s and 600 s
    assert demand["p90"] == pytest.approx(570.0)
    assert by_source["officer_initiated"]["oi"] == 1

    minute = await conn.fetchval(
        "select sum(calls)::int from call_metrics_1m where agency = 'testville' and layer = 'city'")
    assert minute == 4
    daily = await conn.fetchval(
        "select sum(calls)::int from call_metrics_1d where agency = 'testville' and bucket = $1"
        " and layer = 'city'",
        hour.replace(hour=0))
    assert daily == 5


async def test_time_bucket_and_date_bin_agree(conn):
    """Timescale's buckets (continuous aggregates) and plain PostgreSQL's views line up."""
    rows = await conn.fetch(
        "select time_bucket(w, ts) = date_bin(w, ts, timestamptz '2000-01-03 00:00:00+00') as same"
        " from unnest(array[interval '1 minute', interval '1 hour', interval '1 day',"
        " interval '7 days']) as w,"
        " unnest(array[timestamptz '2023-11-05 02:08:26+00', now()]) as ts")
    assert all(r["same"] for r in rows)


async def test_crime_reports_are_upserted_without_copy(conn):
    """PGlite serves no COPY: the crime writer sends arrays, keyed and idempotent all the same."""
    from consumers.db.writer import write_crime_reports
    from schemas import CrimeReport

    at = datetime(2018, 5, 1, 12, tzinfo=UTC)
    reports = [CrimeReport(agency="pglitecity", report_id=f"r{i}", occurred_at=at + timedelta(hours=i),
                           offense="THEFT", category="0820", arrest=False, areas={"district": "1"})
               for i in range(20)]
    assert await write_crime_reports(conn, reports) == 20
    assert await write_crime_reports(conn, [*reports[1:], CrimeReport(
        agency="pglitecity", report_id="r0", occurred_at=at, offense="THEFT", category="0820", arrest=True,
        areas={"district": "1"})]) == 20
    rows = await conn.fetch("select report_id, arrest, district from crime_reports where agency = 'pglitecity'")
    assert len(rows) == 20 and {r["district"] for r in rows} == {"1"}
    assert [r["report_id"] for r in rows if r["arrest"]] == ["r0"]
