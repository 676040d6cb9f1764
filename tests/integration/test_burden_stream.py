"""The Seattle enforcement–crime figures through the streaming path equal the batch recomputation.

Streaming: every Seattle CAD row (`divert replay`) and every crime-aggregate row (`divert crime
replay`) go through the real broker and a real worker (normalize → classify → store) into the
database; the figures come from the SQL function area_divergence. Batch: the pure core over the
same files. Enforcement = officer-initiated (ONVIEW) calls by beat; crime = reported offences
by beat; 2010–2019; only the beats present in both (the calls cover sector C/East only).
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from divert.adapters.crime import load_crime_adapter
from divert.divergence import crime_frame, divergence, enforcement_frame, window_counts, window_starts
from divert.paths import reference_dir
from tests.helpers import run_divert, running_worker, wait_for_rows
from tests.integration.test_burden_sql import seattle_events

LA = ZoneInfo("America/Los_Angeles")
START = datetime(2010, 1, 1, tzinfo=LA).astimezone(UTC)
END = datetime(2020, 1, 1, tzinfo=LA).astimezone(UTC)
SEATTLE_EVENTS = 4_612
CRIME_ROWS = 4_242


def batch_divergence():
    events, _ = seattle_events()
    oi = [e for e in events if e.source == "officer_initiated"]
    crime = load_crime_adapter("seattle")
    reports = [crime.normalize(raw) for raw in crime.read_raw()]
    counts = window_counts(enforcement_frame(oi, "beat"), crime_frame(reports, "beat"),
                           window_starts(START, END, None))
    return divergence(dict(zip(counts.area, counts.enforcement, strict=True)),
                      dict(zip(counts.area, counts.crime, strict=True)),
                      crime_variance=dict(zip(counts.area, counts.crime_variance, strict=True)),
                      restrict="both")


async def _fetch(dsn):
    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch(
            "select * from area_divergence('seattle', 'beat', $1, $2, p_restrict => 'both')", START, END)]
    finally:
        await conn.close()


def test_streamed_figures_equal_the_batch_recomputation(service_env, db_dsn, tmp_path):
    reference = tmp_path / "reference"
    shutil.copytree(reference_dir(), reference)
    mapping = reference / "cities/seattle.yaml"
    mapping.write_text(mapping.read_text() + "\narea_layers: seattle   # place points in beats\n")
    env = dict(service_env, DIVERT_REFERENCE=str(reference))

    with running_worker(env, "--city", "seattle", log=tmp_path / "worker.log") as worker:
        calls = run_divert(env, "replay", "--city", "seattle", "--quiet")
        assert calls.returncode == 0, calls.stderr
        crime = run_divert(env, "crime", "replay", "--city", "seattle")
        assert crime.returncode == 0, crime.stderr
        assert f"sent {CRIME_ROWS:,} crime reports (469,623 offences)" in crime.stdout
        stored_calls = asyncio.run(wait_for_rows(db_dsn, "select count(*) from calls", SEATTLE_EVENTS,
                                                 timeout=120))
        stored_crime = asyncio.run(wait_for_rows(db_dsn, "select count(*) from crime_reports", CRIME_ROWS,
                                                 timeout=60))
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
    assert (stored_calls, stored_crime) == (SEATTLE_EVENTS, CRIME_ROWS)

    sql = {r["area"]: r for r in asyncio.run(_fetch(db_dsn))}
    batch = batch_divergence()
    assert set(sql) == set(batch.by_area) and len(sql) >= 3
    for area, a in batch.by_area.items():
        assert sql[area]["enforcement"] == a.enforcement
        assert sql[area]["crime"] == pytest.approx(a.crime)
        assert sql[area]["lq"] == pytest.approx(a.lq)
    assert next(iter(sql.values()))["dissimilarity"] == pytest.approx(batch.dissimilarity)

    report = run_divert(env, "burden", "--city", "seattle", "--window", "all", "--from", "2010-01-01",
                        "--to", "2020-01-01", "--areas", "both")
    assert report.returncode == 0, report.stderr
    print(report.stdout)  # the figures, for `pytest -s`
    print("batch:", [(a.area, a.enforcement, round(a.crime), round(a.lq, 4), round(a.lq_shrunk, 4))
                     for a in batch.areas], "D", round(batch.dissimilarity, 4))
    print("stream:", sorted((a, r["enforcement"], r["crime"], round(r["lq"], 4)) for a, r in sql.items()),
          "D", round(next(iter(sql.values()))["dissimilarity"], 4))
    top = batch.areas[0]
    assert f"beat {top.area}: enforcement {top.lq:.1f}× its share of reported crime" in report.stdout
    assert f"D = {batch.dissimilarity:.3f}" in report.stdout
    assert "Disparity by subject group: omitted" in report.stdout
    officer = run_divert(env, "officer", "--city", "seattle", "--from", "2010-01-01", "--to", "2020-01-01",
                         "--by", "area")
    assert officer.returncode == 0, officer.stderr
    assert "unit time not recorded" in officer.stdout
    print(officer.stdout)
    union = run_divert(env, "burden", "--city", "seattle", "--window", "all", "--from", "2010-01-01",
                       "--to", "2020-01-01")
    assert union.returncode == 0, union.stderr
    print(union.stdout[:1500])
