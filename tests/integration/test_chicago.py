"""Chicago end to end on real slices: `divert load` (crime reports + the sentiment survey), then
`divert burden` and the neighborhoods dashboard show crime, enforcement and what residents say
side by side, and say that Chicago has no 911/CAD feed instead of showing zeros."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
from datetime import UTC, datetime

import asyncpg

from divert.paths import reference_dir
from tests.helpers import run_divert, slice_csv

ROWS = 6_000        # the first rows of 2018: early January, every district


def _chicago_env(service_env, shared_data, tmp_path):
    crimes = slice_csv(shared_data / "chicago/crimes_2018-01-01_to_2018-11-12.csv.gz", tmp_path / "c.csv", ROWS)
    reference = tmp_path / "reference"
    shutil.copytree(reference_dir(), reference)
    mapping = reference / "crime/chicago.yaml"
    text = mapping.read_text().replace("  - chicago/crimes_2017.csv.gz\n", "").replace(
        "  - chicago/crimes_2018-01-01_to_2018-11-12.csv.gz", f"  - {crimes}")
    mapping.write_text(text)
    return dict(service_env, DIVERT_REFERENCE=str(reference))


def test_chicago_load_burden_and_dashboard(service_env, db_dsn, shared_data, tmp_path):
    env = _chicago_env(service_env, shared_data, tmp_path)
    loaded = run_divert(env, "load", "--city", "chicago", "--quiet", "--from", "2017-11-01", "--to", "2018-03-01")
    assert loaded.returncode == 0, loaded.stderr
    assert f"{ROWS:,} rows" in loaded.stdout and "survey measures (chicago_sentiment)" in loaded.stdout

    async def stored():
        conn = await asyncpg.connect(db_dsn)
        try:
            return (await conn.fetchval("select count(*) from crime_reports"),
                    await conn.fetchval("select count(*) from crime_reports where arrest"),
                    {r[0] for r in await conn.fetch("select distinct areas ->> 'sector' from crime_reports")},
                    {r[0] for r in await conn.fetch(
                        "select distinct area from survey_measures where layer = 'sector'")},
                    await conn.fetchval("select count(*) from survey_measures where layer = 'district' "
                                        "and measure = 'trust' and period_start >= '2018-01-01'"))
        finally:
            await conn.close()

    reports, arrests, crime_sectors, survey_sectors, trust_rows = asyncio.run(stored())
    assert reports == ROWS and 0 < arrests < ROWS
    assert len(crime_sectors & survey_sectors) >= 60          # sector codes join ("1420" both sides)
    assert trust_rows >= 22 * 2                               # Jan and Feb 2018, 22 districts

    again = run_divert(env, "load", "--city", "chicago", "--quiet", "--from", "2017-11-01", "--to", "2018-03-01")
    assert again.returncode == 0 and asyncio.run(stored()) == (reports, arrests, crime_sectors, survey_sectors,
                                                               trust_rows)

    table = run_divert(env, "burden", "--city", "chicago", "--layer", "district",
                       "--from", "2018-01-01", "--to", "2018-01-08")
    assert table.returncode == 0, table.stderr
    assert "publishes no 911/CAD calls" in table.stdout
    assert "association, not cause" in table.stdout and "Spearman" in table.stdout
    assert "district 31:" not in table.stdout
    assert "/100, among the city's" in table.stdout

    out = run_divert(env, "burden", "--city", "chicago", "--layer", "district", "--format", "csv",
                     "--from", "2018-01-01", "--to", "2018-01-08")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert {"area", "enforcement_crime_lq", "trust", "safety"} <= set(rows[0])
    assert len(rows) == 22 and "31" not in {r["area"] for r in rows}
    assert all(r["trust"] and r["safety"] for r in rows)
    assert all(r["calls"] == "no CAD feed" for r in rows)

    panels = asyncio.run(_neighborhood_panels(db_dsn))
    assert panels["What residents say, on the map"] and panels["What residents say, beside"]
    ranked = panels["What residents say, beside"]
    assert all(r["community_calls"] == "no 911/CAD feed for this city" for r in ranked)
    assert sum(r["trust"] is not None for r in ranked) == 22
    assert not panels["Burden and divergence"]        # empty (the panel says so), never zeros


async def _neighborhood_panels(dsn):
    from consumers.db.sources.dashboards import resolve_variables
    from divert.dashboards.check import expand_query
    from divert.dashboards.macros import TimeRange
    from divert.dashboards.model import load_dashboards, load_datasources

    board = next(b for b in load_dashboards() if b.uid == "divert-neighborhoods")
    sources = load_datasources()
    tr = TimeRange(datetime(2018, 1, 1, 6, tzinfo=UTC), datetime(2018, 1, 8, 6, tzinfo=UTC))
    conn = await asyncpg.connect(dsn)
    try:
        variables = await resolve_variables(conn, board, sources, time_range=tr,
                                            chosen={"city": "chicago", "layer": "district"})
        out = {}
        for q in board.queries():
            if q.kind == "sql" and q.where.startswith("panel"):
                rows = await conn.fetch(expand_query(board, q, sources, variables, tr))
                title = next((t for t in ("What residents say, on the map", "What residents say, beside",
                                          "Burden and divergence") if t in q.where), q.where)
                out[title] = [dict(r) for r in rows]
        return out
    finally:
        await conn.close()
