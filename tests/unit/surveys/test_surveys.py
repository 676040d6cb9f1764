"""Survey mappings, estimates and published measures, on the real survey files (no services)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from divert.exceptions import ConfigError
from divert.surveys import association, kish_effective_n, load_survey_mapping, moe_for, read_measures, share
from divert.surveys.mapping import available_surveys, parse_survey_mapping
from divert.surveys.measures import over_window


def test_the_three_real_surveys_are_shipped_and_parse():
    assert {"chicago_sentiment", "san_diego_2015", "new_orleans_nopd"} <= set(available_surveys())


def test_san_diego_neighborhood_safety_by_council_district():
    name, m = load_survey_mapping("san_diego_2015")
    measures, _ = read_measures(name, m)
    q = {x.area: x for x in measures if x.item == "Q2_2" and x.layer == "council_district"}
    assert sorted(q, key=int) == [str(i) for i in range(1, 10)]
    for x in q.values():
        assert 250 < x.n < 290 and 0 < x.estimate < 100 and 2 < x.moe < 7
        assert x.n_effective == pytest.approx(x.n)       # one weight per district: no design effect
    city = next(x for x in measures if x.item == "Q2_2" and x.layer == "city")
    assert city.n == 2458 and 70 < city.estimate < 76


def test_citywide_margin_for_a_half_matches_the_published_two_points():
    assert 100 * moe_for(0.5, 2477) == pytest.approx(1.97, abs=0.01)   # ETC Institute: ±2.0% at 95%


def test_kish_design_effect_and_suppression():
    assert kish_effective_n([1, 1, 1, 1]) == 4
    assert kish_effective_n([1, 3]) == pytest.approx(1.6)
    e = share([5] * 10 + [1] * 10, agree={4, 5}, weights=[1] * 10 + [3] * 10, min_n=1)
    assert e.estimate == pytest.approx(0.25) and e.design_effect == pytest.approx(1.25)
    assert e.moe == pytest.approx(1.96 * math.sqrt(0.25 * 0.75 / 16), rel=1e-3)
    low = share([5, 4, 3], agree={4, 5}, min_n=30)
    assert low.estimate is None and "fewer than 30" in low.suppressed


def test_chicago_scores_are_stored_as_published_with_no_margin():
    name, m = load_survey_mapping("chicago_sentiment")
    measures, repeats = read_measures(name, m)
    assert repeats > 0                                   # the file's exact repeats count once
    d = [x for x in measures if x.layer == "district" and x.measure == "trust"
         and x.period_start == datetime(2018, 1, 1, 6, tzinfo=UTC)]
    assert len(d) == 22 and all(x.moe is None and x.note == "no margin of error published" for x in d)
    sectors = {x.area for x in measures if x.layer == "sector"}
    assert "1420" in sectors and "110" in sectors and len(sectors) == 69
    assert {x.area for x in measures if x.layer == "city"} == {"all"}
    year = {a: v for meas, layer, a, v, k in over_window(
        measures, datetime(2017, 11, 1, 5, tzinfo=UTC), datetime(2018, 11, 1, 5, tzinfo=UTC))
        if meas == "trust" and layer == "district" and (k == 12)}
    assert len(year) == 22


def test_new_orleans_is_a_citywide_trend():
    name, m = load_survey_mapping("new_orleans_nopd")
    measures, _ = read_measures(name, m)
    assert len(measures) == 10 and {x.layer for x in measures} == {"city"}
    assert [x.estimate for x in sorted(measures, key=lambda x: x.period_start)][:2] == [33.0, 50.0]


def test_a_mapping_must_say_which_answers_agree():
    with pytest.raises(ConfigError, match="agree"):
        parse_survey_mapping({"kind": "microdata", "agency": "x", "file": "f.csv", "timezone": "UTC",
                              "period": {"start": "2015-01-01", "end": "2016-01-01"},
                              "items": {"Q1": {"scale_min": 1, "scale_max": 5}}}, "test.yaml")
    with pytest.raises(ConfigError, match="unknown"):
        parse_survey_mapping({"kind": "published", "agency": "x", "file": "f", "timezone": "UTC",
                              "period": {"start": "2015-01-01", "end": "2016-01-01"}, "items": {"A": {}},
                              "wieght": "w"}, "test.yaml")


def test_association_is_worded_without_cause():
    a = association([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])
    assert a.rho == pytest.approx(-1) and "not a cause" in a.sentence("x", "y")
