"""`divert funnel --store` and the program dashboard's funnel panels, read as grafana_reader.

Real calls: San Antonio's published days 1–5 November 2022 (test_funnel's seed), a crisis program
in substation EAST, 07:00–23:00, 2 teams. The stored funnel is the one the command printed, stage
by stage; the dashboard's "as last stored" panel shows it with its date; the window-in-view panel,
summed over the daily metric table, gives the counts the calls table gives for the same whole days;
the reconciliation panel reads the stored initial → final types; the demo's store step stores its
demonstration program's funnel.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from divert.dashboards.macros import TimeRange
from divert.funnel import STAGES
from tests.helpers import run_divert
from tests.integration.test_dashboards_sql import SQL_QUERIES, _run
from tests.integration.test_funnel import HOURS, seed_sa, stage_counts
from tests.integration.test_least_privilege import READER, READER_PASSWORD, admin_sql, with_login
from tests.unit.simulation.conftest import SUBSTATION

PROGRAM = "sa-east-crisis"


@pytest.fixture
def program_env(db_dsn, service_env):
    calls = asyncio.run(seed_sa(db_dsn))
    env = dict(service_env, DIVERT_DATABASE_URL=db_dsn)
    added = run_divert(env, "program", "add", "--name", PROGRAM, "--city", "san_antonio", "--areas", SUBSTATION,
                       "--layer", "substation", "--routes", "crisis", "--start", "2022-11-03")
    assert added.returncode == 0, added.stderr
    return env, calls


def panel(title_part: str):
    return next((uid, q) for uid, q in SQL_QUERIES if uid == "divert-programs" and title_part in q.where)


async def fetch(dsn: str, sql: str, *args):
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def test_stored_funnel_is_what_the_command_printed_and_the_dashboard_shows_it(program_env, db_dsn, tmp_path):
    env, calls = program_env
    asyncio.run(admin_sql(db_dsn, f"alter role {READER} login password '{READER_PASSWORD}'"))
    reader = with_login(db_dsn, READER, READER_PASSWORD)
    whole_days = TimeRange(datetime(2022, 11, 1, tzinfo=UTC), datetime(2022, 12, 1, tzinfo=UTC))
    uid, stored_q = panel("as last stored by divert funnel --store")

    # nothing stored yet: one row that says how to store one
    _, rows, _ = asyncio.run(_run(reader, uid, stored_q, whole_days, {"city": "san_antonio", "program": PROGRAM}))
    assert len(rows) == 1 and "divert funnel --program NAME --store" in rows[0]["stage"]

    result = run_divert(env, "funnel", "--city", "san_antonio", "--program", PROGRAM, "--hours", HOURS,
                        "--teams", "2", "--store", timeout=180)
    assert result.returncode == 0, result.stderr
    printed = stage_counts(result.stdout)
    assert "stored: " in result.stdout and "program_funnels" in result.stdout

    stored = asyncio.run(fetch(db_dsn, "select * from program_funnels where program = $1", PROGRAM))
    overall = {r["stage"]: r["calls"] for r in stored if r["area"] == "all" and r["period"] == "all"
               and r["reason"] is None}
    assert overall == printed and list(printed) == list(STAGES)
    assert len({r["computed_at"] for r in stored}) == 1
    assert {r["area"] for r in stored} >= {"all", "EAST"} and {r["period"] for r in stored} == {"all", "2022-11"}
    by_month = {r["stage"]: r["calls"] for r in stored if r["period"] == "2022-11"}
    assert by_month == printed                                   # one month: the same counts
    assert "2 teams on duty, Mon–Sun 07:00–23:00, substation East" in stored[0]["simulated_as"]

    _, rows, _ = asyncio.run(_run(reader, uid, stored_q, whole_days, {"city": "san_antonio", "program": PROGRAM}))
    assert [r["stage"] for r in rows] == list(STAGES)
    assert {r["stage"]: r["calls"] for r in rows} == printed
    assert all(r["computed at"] == stored[0]["computed_at"] for r in rows)
    assert rows[0]["% of community calls"] == 100 and "officer-initiated" in rows[0]["why calls left here"]
    assert rows[5]["how known"] == "simulated" and rows[6]["how known"] == "not measured"
    assert rows[0]["policy_version"].startswith("default-")

    # a second run is the one shown
    again = run_divert(env, "funnel", "--city", "san_antonio", "--program", PROGRAM, "--teams", "4", "--store",
                       timeout=180)
    assert again.returncode == 0, again.stderr
    _, rows, _ = asyncio.run(_run(reader, uid, stored_q, whole_days, {"city": "san_antonio", "program": PROGRAM}))
    assert "4 teams on duty" in rows[0]["simulated as"] and rows[0]["computed at"] > stored[0]["computed_at"]

    # the reconciliation panel: San Antonio records no final type, so nothing crossed
    uid, recon_q = panel("Initial → final call type")
    _, rows, _ = asyncio.run(_run(reader, uid, recon_q, whole_days, {"city": "san_antonio", "program": PROGRAM}))
    assert rows and all(r["with a final type"] == 0 and r["calls"] > 0 for r in rows)
    eligible = sum(1 for c in calls if c.eligible_initial and c.call.source != "officer_initiated")
    assert sum(r["calls"] for r in rows) <= eligible and len(rows) <= 20

    # the window-in-view panel over daily buckets: the calls table's counts for the same whole days
    uid, window_q = panel("daily buckets of the stored classification")
    _, rows, _ = asyncio.run(_run(reader, uid, window_q, whole_days, {"city": "san_antonio", "program": PROGRAM}))
    got = [r["calls"] for r in rows]
    community = [c for c in calls if c.call.source != "officer_initiated"]
    in_area = [c for c in community if c.eligible and c.route == "crisis" and c.call.areas.get("substation") == "EAST"]
    assert got == [len(community), sum(c.eligible_initial for c in community),
                   sum(c.eligible and c.route == "crisis" for c in community), len(in_area)]
    assert rows[0]["daily buckets (UTC days)"].startswith("2022-11-0")
    # a window of part of a day counts that day only if the day starts inside it
    first = min(c.call.received_at for c in calls).replace(hour=0, minute=0, second=0, microsecond=0)
    late = TimeRange(first + timedelta(hours=12), first + timedelta(days=40))
    _, rows, _ = asyncio.run(_run(reader, uid, window_q, late, {"city": "san_antonio", "program": PROGRAM}))
    assert rows[0]["calls"] < len(community)

    # the demo stores its demonstration program's funnel once after the replay
    from divert.cli.demo import DEMO_PROGRAM, _store_funnel

    layer, area, start = DEMO_PROGRAM["san_antonio"]
    added = run_divert(env, "program", "add", "--name", "demo-san_antonio", "--city", "san_antonio", "--layer", layer,
                       "--areas", area, "--routes", "crisis,navigator", "--start", start)
    assert added.returncode == 0, added.stderr
    text = _store_funnel(env, "san_antonio", tmp_path)
    assert text is not None and "stored: " in text.read_text()
    _, rows, _ = asyncio.run(_run(reader, "divert-programs", stored_q, whole_days,
                                  {"city": "san_antonio", "program": "demo-san_antonio"}))
    assert [r["stage"] for r in rows] == list(STAGES) and "substation North" in rows[0]["simulated as"]
