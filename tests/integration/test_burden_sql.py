"""area_divergence and officer_initiated_summary in SQL against hand-computed figures and the
pure core, on a small real slice: Seattle's 2012 officer-initiated (ONVIEW) calls and the 2012
crime aggregate of the beats they fall in (real rows, stored with the lead's writers)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pandas as pd
import pytest

from consumers.db.migrate import migrate
from consumers.db.writer import write_calls, write_crime_reports, write_officer_activity
from divert.adapters import load_adapter
from divert.adapters.crime import load_crime_adapter
from divert.areas import load_area_index
from divert.classify import Classifier
from divert.crosswalk import load_crosswalk
from divert.divergence import crime_frame, divergence, enforcement_frame, window_counts, window_starts
from divert.policy import load_policy

LA = ZoneInfo("America/Los_Angeles")
Y2012 = datetime(2012, 1, 1, tzinfo=LA).astimezone(UTC)
Y2013 = datetime(2013, 1, 1, tzinfo=LA).astimezone(UTC)


def seattle_events():
    """Every Seattle CAD event once (a time to the second wins over a date, as the writer keeps
    it), with the beat layer applied as reference/areas/seattle.yaml says; and the activities."""
    adapter, index = load_adapter("seattle"), load_area_index("seattle")
    events, activities = {}, {}
    for raw in adapter.read_raw():
        ev, act = adapter.normalize(raw)
        held = events.get(ev.incident_id)
        if held and held.time_precision == "second" and ev.time_precision == "day":
            continue
        import msgspec

        ev = msgspec.structs.replace(ev, areas=index.merge(ev.areas, ev.lat, ev.lon))
        events[ev.incident_id] = ev
        if act is not None:
            activities[ev.incident_id] = msgspec.structs.replace(act, areas=ev.areas, occurred_at=ev.received_at)
    return list(events.values()), list(activities.values())


@pytest.fixture(scope="module")
def seattle_2012():
    events, activities = seattle_events()
    events = [e for e in events if Y2012 <= e.received_at < Y2013]
    activities = [a for a in activities if Y2012 <= a.occurred_at < Y2013]
    crime = load_crime_adapter("seattle")
    reports = [r for r in (crime.normalize(raw) for raw in crime.read_raw())
               if r.occurred_at == Y2012 and r.areas["beat"] in {"C2", "C3", "G3"}]
    return events, activities, reports


async def _store(dsn, events, activities, reports):
    await migrate(dsn)
    classifier = Classifier(load_crosswalk("seattle"), load_policy())
    conn = await asyncpg.connect(dsn)
    try:
        await write_calls(conn, classifier.classify_many(events))
        await write_officer_activity(conn, activities)
        await write_crime_reports(conn, reports)
    finally:
        await conn.close()


async def _query(dsn, sql, *args):
    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


def test_lq_and_d_equal_the_hand_computed_figures(db_dsn, seattle_2012):
    events, activities, reports = seattle_2012
    asyncio.run(_store(db_dsn, events, activities, reports))
    rows = asyncio.run(_query(db_dsn, "select * from area_divergence('seattle', 'beat', $1, $2)", Y2012, Y2013))
    by = {r["area"]: r for r in rows}
    # by hand, from the files: ONVIEW calls of 2012 by beat: C3 53, G3 2 (none in C2);
    # reported offences in 2012: C2 416, C3 518, G3 381 (sum of the rows of each beat)
    assert {a: r["enforcement"] for a, r in by.items()} == {"C2": 0, "C3": 53, "G3": 2}
    assert {a: r["crime"] for a, r in by.items()} == pytest.approx({"C2": 416, "C3": 518, "G3": 381})
    assert by["C3"]["lq"] == pytest.approx((53 / 55) / (518 / 1315))      # 2.4463
    assert by["G3"]["lq"] == pytest.approx((2 / 55) / (381 / 1315))       # 0.1255
    assert by["C2"]["lq"] == 0
    assert rows[0]["dissimilarity"] == pytest.approx(53 / 55 - 518 / 1315)  # ½Σ|s−c| = 0.5697

    # only the beats present in both sources (the calls cover sector C/East only)
    both = asyncio.run(_query(db_dsn, "select * from area_divergence('seattle', 'beat', $1, $2, "
                                      "p_restrict => 'both')", Y2012, Y2013))
    assert [r["area"] for r in both] == ["C3", "G3"]
    assert both[0]["lq"] == pytest.approx((53 / 55) / (518 / 899))         # 1.6724
    assert both[0]["dissimilarity"] == pytest.approx(53 / 55 - 518 / 899)   # 0.3874

    # the pure core over the same records gives the same figures
    core = divergence({"C3": 53, "G3": 2}, {"C2": 416, "C3": 518, "G3": 381})
    assert core.dissimilarity == pytest.approx(rows[0]["dissimilarity"])
    assert {a.area: a.lq for a in core.areas} == pytest.approx({a: r["lq"] for a, r in by.items()})


def test_windows_and_harm_weights_agree_with_the_core(db_dsn, seattle_2012):
    events, activities, reports = seattle_2012
    asyncio.run(_store(db_dsn, events, activities, reports))
    harm = {"Robbery": 10.0, "Aggravated Assault": 10.0, "Burglary": 3.0}
    sql = asyncio.run(_query(
        db_dsn, "select * from area_divergence('seattle', 'beat', $1, $2, $3, null, $4::jsonb, 1.0)",
        Y2012, Y2013, timedelta(days=90), __import__("json").dumps(harm)))
    oi = [e for e in events if e.source == "officer_initiated"]
    counts = window_counts(enforcement_frame(oi, "beat"), crime_frame(reports, "beat", harm),
                           window_starts(Y2012, Y2013, timedelta(days=90)))
    got = pd.DataFrame(sql).set_index(["window_start", "area"]).sort_index()
    want = counts.set_index(["window_start", "area"]).sort_index()
    assert list(got.index) == list(want.index) and len(got.index.levels[0]) == 5
    for col in ("enforcement", "crime", "crime_variance"):
        assert got[col].to_numpy() == pytest.approx(want[col].to_numpy()), col


def test_officer_initiated_summary(db_dsn, seattle_2012):
    events, activities, reports = seattle_2012
    asyncio.run(_store(db_dsn, events, activities, reports))
    rows = asyncio.run(_query(db_dsn, "select * from officer_initiated_summary('seattle', $1, $2, 'all')",
                              Y2012, Y2013))
    assert rows[0]["officer_initiated"] == sum(e.source == "officer_initiated" for e in events) == 55
    assert rows[0]["calls"] == len(events)
    assert rows[0]["calls_timed"] == 0   # Seattle publishes no clearance time: no unit-time share
    by_type = asyncio.run(_query(db_dsn, "select * from officer_initiated_summary('seattle', $1, $2, 'type')",
                                 Y2012, Y2013))
    assert sum(r["officer_initiated"] for r in by_type) == 55
    hours = asyncio.run(_query(db_dsn, "select * from officer_initiated_summary('seattle', $1, $2, 'hour', "
                                       "'beat', 'America/Los_Angeles')", Y2012, Y2013))
    from divert.officer_activity import summarize_frame

    frame = pd.DataFrame([{"source": e.source, "initial_type": e.initial_type, "received_at": e.received_at,
                           "time_precision": e.time_precision, "arrived_at": e.arrived_at,
                           "cleared_at": e.cleared_at, "units": e.units, "areas": e.areas} for e in events])
    core = {r.group: (r.calls, r.officer_initiated)
            for r in summarize_frame(frame, "hour", tz="America/Los_Angeles")}
    assert {r["grp"]: (r["calls"], r["officer_initiated"]) for r in hours} == core
