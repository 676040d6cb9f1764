"""`divert costs` on real Seattle calls: the CLI's table, its CSV, the stored model and the
database view the dashboards read give the same police hours; measured time wins where a call
has a clear time.

Seed: Seattle's full export 2018–2023 (real rows, adapter + Classifier + write_calls). Seattle
publishes no clear time, so one eligible call is given one (20 minutes after arrival, 2 units)
to exercise the measured path.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta

import asyncpg
import msgspec
import pytest

from consumers.db.migrate import migrate
from consumers.db.writer import write_calls
from divert.adapters import load_adapter
from divert.classify import Classifier
from divert.crosswalk import load_crosswalk
from divert.exceptions import InvalidRecord
from divert.policy import load_policy
from tests.helpers import run_divert


def seattle_calls(shared_data, *, timed_one: bool = True) -> list:
    """Seattle's calls, classified; with ``timed_one``, one eligible call timed to its clear (the
    measured path)."""
    adapter = load_adapter("seattle")
    events = []
    for raw in adapter.read_raw(shared_data / "seattle" / "db_call_data_2018-2023.csv.gz"):
        try:
            events.append(adapter.normalize(raw)[0])
        except InvalidRecord:
            continue
    calls = Classifier(load_crosswalk("seattle"), load_policy()).classify_many(events)
    if timed_one:
        i = next(i for i, c in enumerate(calls) if c.eligible and c.call.arrived_at and c.call.time_precision == "second")
        c = calls[i]
        event = msgspec.structs.replace(c.call, cleared_at=c.call.arrived_at + timedelta(minutes=20), units=2)
        calls[i] = msgspec.structs.replace(c, call=event)
    return calls


async def seed_seattle(dsn: str, shared_data, *, timed_one: bool = True) -> list:
    await migrate(dsn)
    calls = seattle_calls(shared_data, timed_one=timed_one)
    conn = await asyncpg.connect(dsn)
    try:
        await write_calls(conn, calls)
    finally:
        await conn.close()
    return calls


@pytest.fixture
def seattle_db(db_dsn, shared_data):
    calls = asyncio.run(seed_seattle(db_dsn, shared_data))
    return db_dsn, calls


def test_costs_table_csv_sync_and_view_agree(seattle_db, service_env):
    dsn, calls = seattle_db
    env = dict(service_env, DIVERT_DATABASE_URL=dsn)
    table = run_divert(env, "costs", "--city", "seattle", timeout=120)
    assert table.returncode == 0, table.stderr
    assert "ASSUMED on-scene time" in table.stdout and "$93.34 per unit-hour" in table.stdout
    assert "policy default-" in table.stdout and "team-hours a week" in table.stdout
    # the export is one sector's: said at the top, and no team is priced against its police time
    lines = table.stdout.splitlines()
    assert lines[1].startswith("COVERAGE: calls cover 1 of 54 beats (C3)") and "the budget is city-wide" in lines[1]
    assert max(len(line) for line in lines) <= 110
    words = " ".join(table.stdout.split())
    assert "NOT PRICED against the police time: the calls cover 1 of 54 beats" in words
    assert "police cost freed minus the alternative" not in words
    # per week over the weeks with data, day-only calls included (not 0.3 a week over 400 weeks)
    assert "a week over the" in words and "(0.3 a week)" not in words

    staffing = run_divert(env, "staffing", "--city", "seattle", "--route", "navigator", timeout=120)
    assert staffing.returncode == 0, staffing.stderr
    team_hours = next(int(line.split(": ")[1].split()[0]) for line in staffing.stdout.splitlines()
                      if line.startswith("team-hours a week:"))
    assert f"(a team: 1 person): {team_hours:,} team-hours a week on duty" in words   # the same unit and hours
    assert "team cost: NOT PRICED" in staffing.stdout and "a team is 1 person" in " ".join(staffing.stdout.split())

    out = run_divert(env, "costs", "--city", "seattle", "--format", "csv", timeout=120)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert {"route", "police_hours", "police_cost", "source"} <= set(rows[0])
    route_rows = [r for r in rows if r["section"] == "route"]
    assert sum(int(r["calls"]) for r in route_rows if r["stage"] == "all") == len({c.call.incident_id for c in calls})
    eligible = [r for r in route_rows if r["stage"] == "eligible"]
    assert sum(int(r["timed_calls"]) for r in eligible) == 1
    assert any(r["basis"] == "mixed" for r in eligible) and all("ASSUMED" in r["source"] for r in eligible)
    assert all(r["alt_withheld"] and not r["alt_cost"] for r in route_rows if r["alt_team_hours_per_week"])
    for r in rows:
        assert float(r["police_hours_low"]) <= float(r["police_hours"]) <= float(r["police_hours_high"])
        assert float(r["police_cost_low"]) <= float(r["police_cost"]) <= float(r["police_cost_high"])

    synced = run_divert(env, "costs", "sync", "--city", "seattle", timeout=60)
    assert synced.returncode == 0 and "seattle-FY2020" in synced.stdout, synced.stderr

    async def view():
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetchrow(
                "select sum(hours) as h, sum(hours * police_hour_central) as cost, "
                "count(*) filter (where basis = 'measured') as measured, count(*) filter (where basis = 'unknown') as unknown "
                "from call_police_time where agency = 'seattle' and eligible")
        finally:
            await conn.close()

    v = asyncio.run(view())
    assert v["measured"] == 1 and v["unknown"] == 0
    assert v["h"] == pytest.approx(sum(float(r["police_hours"]) for r in eligible), abs=0.05)
    assert v["cost"] == pytest.approx(sum(float(r["police_cost"]) for r in eligible), abs=5)


def test_unknown_city_is_a_user_error(db_dsn, service_env):
    asyncio.run(migrate(db_dsn))
    result = run_divert(dict(service_env, DIVERT_DATABASE_URL=db_dsn), "costs", "--city", "milwaukee", timeout=60)
    assert result.returncode == 1 and "no cost model for 'milwaukee'" in result.stderr
