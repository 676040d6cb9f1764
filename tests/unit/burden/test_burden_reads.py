"""`divert burden` reads: no 'untethered' label without enforcement, correct plurals, no nan,
shares of the areas compared (never "of the city's"). Real data: Seattle's reported crime by beat
for 2015 (city-wide) against enforcement in the three sector-C beats the call extract covers."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, datetime

import pandas as pd

from divert.burden import assess
from divert.cli.burden import render
from divert.coverage import Coverage, Source
from divert.divergence import divergence

CRIME = "seattle/spd_crime_data_agg_year_beat_2008-2019.csv.gz"


def crime_2015(shared_data) -> dict[str, float]:
    out: dict[str, float] = {}
    with gzip.open(shared_data / CRIME, "rt", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["Year"] == "2015" and r["BEAT"]:
                out[r["BEAT"]] = out.get(r["BEAT"], 0.0) + float(r["crime_counts"])
    return out


def test_no_beat_without_enforcement_is_policing_untethered(shared_data):
    crime = crime_2015(shared_data)
    assert len(crime) > 40
    rows = assess(divergence({"C1": 30, "C2": 1, "C3": 40}, crime))
    assert all(r.kind not in ("policing", "both") for r in rows if r.div.enforcement == 0)
    assert any(r.kind == "policing" for r in rows)
    texts = [r.sentence("beat") for r in rows]
    assert not any("of the city's" in t for t in texts)
    one = next(t for t in texts if t.startswith("beat C2:"))
    assert "1 officer-initiated event," in one and "events" not in one.split(";")[1]
    assert all("nan" not in t.lower().split() for t in texts)


def test_the_summary_is_short_and_the_windows_say_why_they_are_not_compared(shared_data):
    crime = crime_2015(shared_data)
    t0, t1, t2 = (datetime(2015, 1, 1, tzinfo=UTC), datetime(2015, 7, 1, tzinfo=UTC),
                  datetime(2016, 1, 1, tzinfo=UTC))
    rows = []
    for ws, we, share in ((t0, t1, 1.0), (t1, t2, 0.0)):   # the second window has no crime stored
        for area, c in crime.items():
            e = {"C1": 12.0, "C2": 1.0, "C3": 20.0}.get(area, 0.0)
            if e or c * share:
                rows.append((ws, we, area, e, c * share, c * share))
    frame = pd.DataFrame(rows, columns=["window_start", "window_end", "area", "enforcement", "crime",
                                        "crime_variance"])
    calls = Source("calls", frozenset({"C1", "C2", "C3"}), t0, t2, 300, 900)
    coverage = Coverage("seattle", "beat", calls, Source("crime reports", frozenset(crime), t0, t2, 1, 50_000))
    frame = frame[frame["area"].isin(calls.areas)]
    whole = frame.groupby("area", as_index=False)[["enforcement", "crime", "crime_variance"]].sum()
    whole.insert(0, "window_start", t0)
    whole.insert(1, "window_end", t2)

    def run(whole_frame) -> str:
        out = io.StringIO()
        render(frame, city="seattle", layer="beat", tz="America/Los_Angeles", start=t0, end=t2, restrict="union",
               harm_source="", population=None, unplaced=1, subjects=[], group_population=None,
               crime_threshold=1.25, lq_threshold=1.25, fmt="table", out=out, coverage=coverage,
               whole=whole_frame, window="180d", top=10)
        return out.getvalue()

    summary, full = run(whole), run(None)
    for text in (summary, full):
        lines = text.splitlines()
        assert max(len(line) for line in lines) <= 110
        assert "nan" not in text.lower().split() and "of the city's" not in text
        assert text.index("COVERAGE: calls cover 3 of") < text.index("LQ =")   # said at the top
        assert "1 officer-initiated event has no beat and is not counted." in " ".join(text.split())
    assert len(summary.splitlines()) < 40 and "Flagged in 1 of 2 180-day windows" in " ".join(summary.split())
    assert "not compared (no reported crime stored)" in " ".join(full.split())
