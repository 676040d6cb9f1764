"""The divergence, burden, disparity and officer-activity cores, by hand."""

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from divert.burden import assess
from divert.disparity import Stop, disparity
from divert.divergence import dissimilarity, divergence, divergence_by_window, window_counts, window_starts
from divert.officer_activity import summarize, summarize_frame


def test_lq_and_d_by_hand():
    d = divergence({"A": 60, "B": 30, "C": 10}, {"A": 20, "B": 30, "C": 50})
    by = d.by_area
    assert by["A"].lq == pytest.approx(0.6 / 0.2)
    assert by["B"].lq == pytest.approx(0.3 / 0.3)
    assert by["C"].lq == pytest.approx(0.1 / 0.5)
    assert d.dissimilarity == pytest.approx(0.5 * (0.4 + 0.0 + 0.4))
    assert [a.area for a in d.areas] == ["A", "B", "C"]


def test_a_tiny_area_is_not_ranked_first():
    enforcement = {"tiny": 3, **{f"b{i}": 100 + 10 * i for i in range(10)}}
    crime = {"tiny": 1, **{f"b{i}": 120 for i in range(10)}}
    d = divergence(enforcement, crime)
    raw_first = max(d.areas, key=lambda a: a.lq)
    assert raw_first.area == "tiny"                       # raw LQ ≈ 2.6
    assert d.areas[0].area != "tiny"                      # the shrunk ranking does not put it first
    tiny = d.by_area["tiny"]
    assert tiny.lq_shrunk < tiny.lq and tiny.low < 1 < tiny.high


def test_shrinkage_keeps_well_measured_divergence():
    d = divergence({"A": 4000, "B": 1000, "C": 1000}, {"A": 1000, "B": 1000, "C": 1000})
    a = d.by_area["A"]
    assert a.lq == pytest.approx(2.0) and a.lq_shrunk == pytest.approx(2.0, rel=0.02)
    assert a.low > 1.8 and a.outside_funnel == "above"


def test_enforcement_without_crime_and_restriction():
    d = divergence({"A": 10, "B": 10}, {"B": 5, "C": 5})
    assert math.isinf(d.by_area["A"].lq) and d.by_area["C"].lq == 0
    both = divergence({"A": 10, "B": 10}, {"B": 5, "C": 5}, restrict="both")
    assert [a.area for a in both.areas] == ["B"] and both.dissimilarity == 0
    assert set(both.excluded) == {"A", "C"}
    assert dissimilarity({"A": 10, "B": 10}, {"B": 5, "C": 5}) == pytest.approx(0.5 * (0.5 + 0 + 0.5))


def test_windows_spread_published_counts_over_their_period():
    t0 = datetime(2012, 1, 1, 8, tzinfo=UTC)   # 1 January, Seattle local midnight
    year = datetime(2013, 1, 1, 8, tzinfo=UTC) - t0
    crime = pd.DataFrame({"occurred_at": [t0, t0], "period_end": [t0 + year, t0 + year], "area": ["A", "B"],
                          "count": [366, 732]})
    enf = pd.DataFrame({"occurred_at": [t0 + timedelta(days=1), t0 + timedelta(days=100)], "area": ["A", "A"]})
    windows = window_starts(t0, t0 + year, timedelta(days=61))
    counts = window_counts(enf, crime, windows)
    first = counts[counts.window_start == t0].set_index("area")
    assert first.loc["A", "crime"] == pytest.approx(61) and first.loc["B", "crime"] == pytest.approx(122)
    assert first.loc["A", "enforcement"] == 1
    assert counts.groupby("area")["crime"].sum().to_dict() == pytest.approx({"A": 366, "B": 732})
    assert len(divergence_by_window(counts)) == 6


def test_burden_classes_and_per_capita():
    d = divergence({"A": 500, "B": 100, "C": 100, "D": 300}, {"A": 100, "B": 400, "C": 100, "D": 400})
    rows = assess(d, population={"A": 1000, "B": 1000, "C": 1000, "D": 1000})
    kinds = {r.area: r.kind for r in rows}
    assert kinds == {"A": "policing", "B": "crime", "C": None, "D": "crime"}
    b = next(r for r in rows if r.area == "B")
    assert b.crime_per_1000 == 400 and b.crime_ratio == pytest.approx(400 / 250)
    assert "per 1,000 residents" in b.sentence("beat")
    both = assess(divergence({"A": 900, "B": 50, "C": 50}, {"A": 700, "B": 300, "C": 300}))
    assert both[0].area == "A" and both[0].kind == "both"
    for r in rows + both:
        assert "because" not in r.sentence() and "caus" not in r.sentence()


def test_disparity_outcome_test_and_omission():
    stops = [Stop("A", ("search", "contraband_found"))] * 30 + [Stop("A", ("search",))] * 30 + \
            [Stop("A", ())] * 40 + [Stop("B", ("search", "contraband_found"))] * 10 + \
            [Stop("B", ("search",))] * 50 + [Stop("B", ())] * 40
    r = disparity(stops, {"A": 10_000, "B": 5_000})
    a, b = r.groups
    assert (a.stops_per_1000, b.stops_per_1000) == (10.0, 20.0)
    assert a.search_rate == b.search_rate == 0.6
    assert a.hit_rate == 0.5 and b.hit_rate == pytest.approx(1 / 6)
    assert b.hit_interval[1] < a.hit_interval[0]          # the outcome test separates the groups
    assert disparity([Stop(None, ("search",))] * 5) is None
    no_pop = disparity(stops)
    assert no_pop.groups[0].stops_per_1000 is None and not no_pop.has_population


def test_officer_summary_from_frame():
    t = datetime(2024, 1, 1, 17, tzinfo=UTC)   # Monday 09:00 in Los Angeles
    calls = pd.DataFrame({
        "source": ["officer_initiated", "911", "officer_initiated"],
        "initial_type": ["TRAFFIC STOP", "THEFT", "TRAFFIC STOP"],
        "received_at": [t, t, t + timedelta(hours=1)],
        "time_precision": ["second", "second", "day"],
        "arrived_at": [t, t + timedelta(minutes=10), None],
        "cleared_at": [t + timedelta(minutes=30), t + timedelta(minutes=70), None],
        "units": [1, 2, None], "areas": [{"beat": "A"}, {}, {"beat": "A"}]})
    s = summarize(summarize_frame(calls, "all"))
    assert (s.officer_initiated, s.calls) == (2, 3)
    assert s.unit_share == pytest.approx(30 / (30 + 120))
    hours = {r.group: r.calls for r in summarize_frame(calls, "hour", tz="America/Los_Angeles")}
    assert hours == {"009": 2}
    assert {r.group for r in summarize_frame(calls, "area")} == {"A", "(no beat)"}
