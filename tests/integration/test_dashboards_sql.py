"""Every dashboard query runs against the real, migrated database holding real San Antonio calls.

The calls are every 25th row of the San Antonio file (all 42 months, ~28,700 calls), through
the city adapter and the Classifier, stored with consumers.db.writer. Each query is expanded
as Grafana would send it: the provisioned data source says ``timescaledb: true``, so
``$__timeGroup`` would become ``time_bucket``; no panel uses it (they bucket with
``date_bin``), so the SQL is the same on PostgreSQL and TimescaleDB — a test asserts that.
Fails on a query error, an empty result where the data exists, a wrong column shape, a
number without its policy version, or a variable value that changes the SQL.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
from datetime import datetime, timedelta

import asyncpg
import pytest

from consumers.db.migrate import migrate
from consumers.db.sources.dashboards import resolve_variables
from consumers.db.writer import write_alerts, write_calls, write_officer_activity
from divert.adapters import load_adapter
from divert.classify import Classifier
from divert.crosswalk import load_crosswalk
from divert.dashboards.check import expand_query
from divert.dashboards.macros import ALL, TimeRange
from divert.dashboards.model import load_dashboards, load_datasources, relative_range
from divert.exceptions import InvalidRecord
from divert.policy import load_policy
from schemas.records import Alert

EVERY = 25
HOSTILE = "x'); drop table calls; --"


def san_antonio_rows(shared_data, every: int = EVERY):
    path = next((shared_data / "san_antonio").glob("*.csv.gz"))
    with gzip.open(path, "rt", newline="") as fh:
        import csv

        reader = csv.DictReader(fh)
        yield from itertools.islice(reader, 0, None, every)


async def seed_san_antonio(dsn: str, shared_data, every: int = EVERY) -> dict:
    """Migrate, then classify and store a systematic sample of the real San Antonio calls."""
    await migrate(dsn)
    adapter = load_adapter("san_antonio")
    classifier = Classifier(load_crosswalk("san_antonio"), load_policy())
    events, activities = [], []
    for raw in san_antonio_rows(shared_data, every):
        try:
            event, activity = adapter.normalize(raw)
        except InvalidRecord:
            continue
        events.append(event)
        if activity is not None:
            activities.append(activity)
    calls = classifier.classify_many(events)
    conn = await asyncpg.connect(dsn)
    try:
        for i in range(0, len(calls), 10_000):
            await write_calls(conn, calls[i:i + 10_000])
        await write_officer_activity(conn, activities)
        await conn.execute("analyze")  # fresh statistics, as autovacuum would give a live database
        span = await conn.fetchrow("select min(received_at) lo, max(received_at) hi from calls")
    finally:
        await conn.close()
    return {"calls": calls, "activities": activities, "start": span["lo"], "end": span["hi"],
            "policy_version": calls[0].policy_version}


async def seed_alert_and_program(dsn: str, seeded: dict) -> None:
    """A firing alert built from the real counts of the busiest district-day, and a program on a
    real substation with a stored evaluation (so the program dashboard has its lines)."""
    from consumers.db.sources.evaluation import load_panel, load_program, store_evaluation
    from divert.evaluation import evaluate
    from divert.evaluation.outcomes import describe
    from divert.evaluation.report import EvaluationResult, summary

    conn = await asyncpg.connect(dsn)
    try:
        busiest = await conn.fetchrow(
            "select area, date_bin('1 hour', received_at, timestamptz '2000-01-03') as hour, count(*) as n "
            "from call_areas where layer = 'district' and eligible group by 1, 2 order by 3 desc limit 1")
        await write_alerts(conn, [Alert(
            alert_id=f"san_antonio:district:{busiest['area']}:crisis", agency="san_antonio",
            area_layer="district", area=busiest["area"], route="crisis", state="firing",
            window_start=busiest["hour"], window_end=busiest["hour"] + timedelta(hours=1),
            observed=float(busiest["n"]), expected=1.0, upper_bound=2.0, score=float(busiest["n"]),
            policy_version=seeded["policy_version"])])
        await conn.execute(
            "insert into programs (name, agency, start, areas, routes, area_layer, description) values "
            "('north-crisis-team', 'san_antonio', '2024-09-01 00:00-05', '{NORTH}', '{crisis,navigator}', "
            "'substation', 'A crisis team in the North substation')")
        program = await load_program(conn, "north-crisis-team")
        panel = await load_panel(conn, program, "police_calls_eligible", "America/Chicago")
        estimate, placebo = evaluate(panel, "did", placebo_runs=3)
        result = EvaluationResult(program, "police_calls_eligible", describe("police_calls_eligible"), "calls per day",
                                  estimate, placebo, panel.policy_versions)
        await store_evaluation(conn, result, " ".join(summary(result)), "America/Chicago")
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def seeded_db(database_url, shared_data):
    """One migrated database with the seeded real data, shared by this module's tests."""
    from tests.helpers import fresh_database

    with fresh_database(database_url, "t_dash") as dsn:
        seeded = asyncio.run(seed_san_antonio(dsn, shared_data))
        asyncio.run(seed_alert_and_program(dsn, seeded))
        seeded["dsn"] = dsn
        yield seeded


BOARDS = {b.uid: b for b in load_dashboards()}
SOURCES = load_datasources()
SQL_QUERIES = [(b.uid, q) for b in BOARDS.values() for q in b.queries()
               if q.kind == "sql" and q.where.startswith(("panel", "annotation"))]


def _range(seeded) -> TimeRange:
    end = seeded["end"] + timedelta(minutes=1)
    return TimeRange(seeded["start"] - timedelta(minutes=1), end)


async def _run(dsn, uid, q, time_range, chosen):
    board = BOARDS[uid]
    conn = await asyncpg.connect(dsn)
    try:
        variables = await resolve_variables(conn, board, SOURCES, time_range=time_range, chosen=chosen)
        tr = relative_range(time_range.end, q.time_from, time_range)
        sql = expand_query(board, q, SOURCES, variables, tr)
        rows = await conn.fetch(sql)
        calls_exist = await conn.fetchval("select to_regclass('calls') is not null")
        return sql, rows, calls_exist
    finally:
        await conn.close()


CHOICES = {
    "defaults": {"city": "san_antonio"},
    "substations": {"city": "san_antonio", "layer": "substation"},
    "two districts, two routes": {"city": "san_antonio", "layer": "district", "area": None,
                                  "route": ["crisis", "police"]},
}


def _check_shape(q, rows, where):
    assert rows, f"{where}: empty result where the data exists"
    columns = list(rows[0].keys())
    policy_named = "policy_version" in columns or any(
        "policy" in str(r.get("metric", "")) or "policy" in str(r.get("route", "")) or
        "policy" in str(r.get("area", "")) for r in rows)
    if not q.where.startswith("annotation"):
        assert policy_named, f"{where}: no policy version in {columns}"
    if q.fmt == "time_series":
        assert columns[0] == "time", f"{where}: a time series must start with a time column: {columns}"
        times = [r["time"] for r in rows]
        assert all(isinstance(t, datetime) for t in times), where
        assert times == sorted(times), f"{where}: rows not ordered by time"
        values = [c for c in columns if c not in ("time", "metric")]
        assert values and all(_is_number(r[c]) for r in rows for c in values
                              if r[c] is not None), f"{where}: value columns must be numbers: {columns}"
    if q.panel_type == "geomap":
        assert {"latitude", "longitude"} <= set(columns), f"{where}: a map needs latitude and longitude"
        assert all(-90 <= r["latitude"] <= 90 and -180 <= r["longitude"] <= 180 for r in rows), where
    if q.panel_type in ("stat", "bargauge"):
        assert any(_is_number(v) for v in rows[0].values()), f"{where}: a {q.panel_type} needs a number: {columns}"
    if q.where.startswith("annotation"):
        assert {"time", "text"} <= set(columns), f"{where}: an annotation needs time and text"


def _is_number(v) -> bool:
    from decimal import Decimal

    return isinstance(v, int | float | Decimal) and not isinstance(v, bool)


@pytest.mark.parametrize("choice", list(CHOICES))
@pytest.mark.parametrize("uid,q", SQL_QUERIES, ids=[f"{u}:{q.where}" for u, q in SQL_QUERIES])
def test_panel_sql_runs_on_real_data(seeded_db, uid, q, choice):
    chosen = dict(CHOICES[choice])
    if "area" in chosen:
        chosen["area"] = _two_districts(seeded_db["dsn"])
    sql, rows, _ = asyncio.run(_run(seeded_db["dsn"], uid, q, _range(seeded_db), chosen))
    where = f"{uid} {q.where} [{choice}]"
    if uid == "divert-supervisor" and "alerts" in q.where.lower() and choice != "defaults":
        return  # the one seeded alert lies in one district: other selections rightly show none
    _check_shape(q, rows, where)


def _two_districts(dsn) -> list[str]:
    async def go():
        conn = await asyncpg.connect(dsn)
        try:
            # the two districts busiest in the last hour of the data, so 'last hour' panels have calls
            return [r[0] for r in await conn.fetch(
                "select area from call_areas where layer = 'district' and source <> 'officer_initiated' "
                "and route in ('crisis', 'police') "
                "and received_at > (select max(received_at) from calls) - interval '1 hour' "
                "group by 1 order by count(*) desc, 1 limit 2")]
        finally:
            await conn.close()

    return asyncio.run(go())


@pytest.mark.parametrize("uid,q", SQL_QUERIES, ids=[f"{u}:{q.where}" for u, q in SQL_QUERIES])
def test_hostile_variable_values_stay_data(seeded_db, uid, q):
    chosen = {"city": HOSTILE, "layer": HOSTILE, "area": [HOSTILE, "a'b"], "route": [HOSTILE],
              "program": HOSTILE, "outcome": HOSTILE, "method": HOSTILE}
    board = BOARDS[uid]
    chosen = {k: v for k, v in chosen.items() if any(s["name"] == k for s in board.variables)}
    sql, rows, calls_exist = asyncio.run(_run(seeded_db["dsn"], uid, q, _range(seeded_db), chosen))
    assert calls_exist, f"{uid} {q.where}: the calls table was dropped by a variable value"
    if HOSTILE.split("'")[0] in sql and "drop table" in sql:
        assert "x''); drop table calls; --" in sql, f"the value was not quoted as data: {sql}"
    if q.where.startswith("panel") and "pipeline" not in uid:
        # nothing matches a hostile city/area; aggregates still answer with one row of nulls
        assert len(rows) <= 1, (uid, q.where, len(rows))


def test_variable_queries_list_real_values(seeded_db):
    async def go():
        conn = await asyncpg.connect(seeded_db["dsn"])
        try:
            board = BOARDS["divert-neighborhoods"]
            tr = _range(seeded_db)
            v = {x.name: x for x in await resolve_variables(conn, board, SOURCES, time_range=tr,
                                                            chosen={"layer": "substation"})}
            return v
        finally:
            await conn.close()

    v = asyncio.run(go())
    assert v["city"].value == "san_antonio"
    assert {"NORTH", "SOUTH", "CENTRAL", "DOWNTOWN"} <= set(v["area"].options)
    assert v["area"].value == ALL


def test_sql_is_the_same_with_or_without_timescaledb_expansion(seeded_db):
    from dataclasses import replace

    tr = _range(seeded_db)
    plain = {uid: replace(s, timescaledb=False) for uid, s in SOURCES.items()}
    assert SOURCES["divert-db"].timescaledb  # what Grafana in docker-compose will use
    for uid, q in SQL_QUERIES:
        board = BOARDS[uid]
        from divert.dashboards.check import sample_variables

        vs = sample_variables(board)
        assert expand_query(board, q, SOURCES, vs, tr) == expand_query(board, q, plain, vs, tr), (uid, q.where)


def test_supervisor_counts_match_the_stored_calls(seeded_db):
    """The 'calls by route, last hour' bars add up to the calls stored in that hour."""
    q = next(q for q in BOARDS["divert-supervisor"].queries() if "Calls by route, last hour" in q.where)
    tr = _range(seeded_db)
    _, rows, _ = asyncio.run(_run(seeded_db["dsn"], "divert-supervisor", q, tr, {"city": "san_antonio"}))
    end = tr.end
    expected = sum(1 for c in seeded_db["calls"]
                   if end - timedelta(hours=1) <= c.call.received_at < end and c.call.source != "officer_initiated")
    assert sum(r["calls"] for r in rows) == expected > 0
    assert {r["policy_version"] for r in rows} == {seeded_db["policy_version"]}


def test_check_command_explains_every_query_against_the_database(seeded_db, service_env):
    from tests.helpers import run_divert

    env = dict(service_env, DIVERT_DATABASE_URL=seeded_db["dsn"])
    result = run_divert(env, "dashboards", "check", "--database", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "EXPLAINed against the database" in result.stdout



def test_the_program_comparison_leaves_out_areas_that_name_no_place(seeded_db):
    """The "untreated areas" line averages real places only: an area the program records as not
    compared (the mapping's non_geographic) leaves the average as it leaves `divert evaluate`."""
    uid, q = next((u, q) for u, q in SQL_QUERIES if "program areas vs the rest" in q.where)
    dsn = seeded_db["dsn"]

    async def untreated_with(not_compared: list[str]) -> dict:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("update programs set not_compared = $1 where name = 'north-crisis-team'",
                               not_compared)
        finally:
            await conn.close()
        _, rows, _ = await _run(dsn, uid, q, _range(seeded_db), {"city": "san_antonio"})
        return {(r["time"], r["metric"]): r["eligible_calls"] for r in rows if "untreated" in r["metric"]}

    async def check() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            busiest = await conn.fetchval(
                "select area from call_areas where layer = 'substation' and area <> 'NORTH' and eligible "
                "group by 1 order by count(*) desc limit 1")
        finally:
            await conn.close()
        every_area = await untreated_with([])
        without_busiest = await untreated_with([busiest])
        await untreated_with([])
        assert every_area and every_area.keys() == without_busiest.keys()
        assert sum(without_busiest.values()) < sum(every_area.values())

    asyncio.run(check())
