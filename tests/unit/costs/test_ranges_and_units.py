"""Ranges hold their central value wherever they are built, and staffing, costs and the council
report count the same unit: a team of the cost model's size, per week over the weeks with data."""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from divert.costs.compute import AlternativeEstimate, CostLine, alternative_estimates
from divert.costs.model import Range, load_model
from divert.costs.table import CostReport, render_text, span
from divert.coverage import Coverage, Source
from divert.report.data import team_absorption
from divert.staffing import staffing_plan, team_hours

amounts = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)


@st.composite
def ranges(draw) -> Range:
    low, central, high = sorted(draw(st.tuples(amounts, amounts, amounts)))
    return Range(low, central, high)


def holds(r: Range) -> bool:
    slack = 1e-9 * max(1.0, abs(r.low), abs(r.high))
    return r.low - slack <= r.central <= r.high + slack


@given(ranges(), ranges(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_every_range_arithmetic_holds_its_central_value(a, b, k):
    for r in (a + b, a - b, b - a, a * b, a * k, k * a):
        assert holds(r), r


@settings(deadline=None)  # the model is read once; a loaded machine must not fail the property
@given(ranges(), ranges())
def test_net_saving_holds_its_central_value(freed, cost):
    model = _seattle_model()
    a = AlternativeEstimate("eligible", "crisis", model.alternatives["crisis"], 10, 4.0, 2.5, 8, 1, cost,
                            freed, freed)
    assert holds(a.net)
    assert a.net.central == pytest.approx(freed.central - cost.central)


@functools.cache
def _seattle_model():
    return load_model("seattle")


def test_a_range_outside_its_central_value_cannot_be_built():
    with pytest.raises(ValueError, match="must hold its central value"):
        Range(-2_098_530, -1_762_596, -1_819_285)   # the "net saving"


def test_a_bound_equal_to_the_central_value_is_not_repeated():
    assert span(Range(1_592_247, 1_592_247, 1_990_309)) == "$1,592,247 (up to $1,990,309)"
    assert span(Range(5, 5, 5)) == "$5"
    assert span(Range(-2_000, -1_500, 300)) == "-$1,500 (-$2,000 to $300)"


def _report(calls_per_week: float, *, coverage: Coverage | None, teams_route="crisis"):
    """A cost report of Seattle's model for one eligible route, with a flat weekly demand."""
    model = load_model("seattle")
    weeks = 52.0
    calls = round(calls_per_week * weeks)
    hours = Range(0.5, 0.9, 1.4) * calls
    line = CostLine("eligible", teams_route, teams_route, calls, 0, calls, hours,
                    hours * model.police_unit_hour.rate, {"p1"})
    arrivals = {("eligible", teams_route): {h: calls_per_week / 168 for h in range(168)}}
    alternatives = alternative_estimates([line], arrivals, weeks, model, coverage)
    t = datetime(2024, 1, 1, tzinfo=UTC)
    return CostReport("seattle", model, t, t, "America/Los_Angeles", calls, int(weeks * 7), [line], [line],
                      alternatives, coverage, arrivals), arrivals, model


def _coverage(call_areas: set[str]) -> Coverage:
    t0, t1 = datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 12, 30, tzinfo=UTC)
    crime = Source("crime reports", frozenset({"A", "B", "C", "D"}), t0, t1, 365, 1000)
    return Coverage("seattle", "beat", Source("calls", frozenset(call_areas), t0, t1, 364, 5000), crime,
                    "seattle FY2020 budget")


def test_staffing_costs_and_report_count_the_same_team_hours():
    report, arrivals, model = _report(400.0, coverage=_coverage({"A", "B", "C", "D"}))
    (a,) = report.alternatives
    alt = model.alternatives["crisis"]
    plan = staffing_plan(arrivals[("eligible", "crisis")], service_minutes=alt.service_minutes,
                         target_minutes=alt.target_minutes, target_share=alt.target_share)
    assert a.team_hours_per_week == team_hours(plan)
    assert a.responder_hours_per_week == team_hours(plan) * alt.responders_per_team == 2 * a.team_hours_per_week
    assert a.cost.central == pytest.approx(alt.cost_per_hour.central * a.team_hours_per_week * a.weeks)
    assert a.calls_per_week == pytest.approx(400.0) and a.withheld is None
    (t,) = team_absorption(report, arrivals, 2, model)
    assert t.team_cost_per_week == pytest.approx(alt.cost_per_hour.central * 2 * 168)
    assert t.responders_per_team == 2 and t.weeks == pytest.approx(52.0)


def test_teams_out_of_reach_say_how_many_are_needed():
    report, arrivals, model = _report(400.0, coverage=None)
    (t,) = team_absorption(report, arrivals, 2, model)
    assert t.share_in_target == 0 and t.out_of_reach and t.teams_needed > 2


def test_a_partial_extract_or_thin_volume_is_not_priced_against_police_time():
    partial, _, _ = _report(400.0, coverage=_coverage({"A"}))
    assert "cover 1 of 4 beats" in partial.alternatives[0].withheld
    thin, _, _ = _report(3.0, coverage=None)
    assert "too few calls" in thin.alternatives[0].withheld
    text = render_text(thin)
    assert "NOT PRICED against the police time: too few calls" in text
    assert "police cost freed minus the alternative" not in text


@pytest.mark.parametrize("per_week", [3.0, 400.0])
def test_text_lines_fit_and_per_week_is_over_the_weeks_with_data(per_week):
    report, _, _ = _report(per_week, coverage=_coverage({"A", "B", "C", "D"}))
    text = render_text(report)
    assert max(len(line) for line in text.splitlines()) <= 110
    words = " ".join(text.split())   # wrapped lines read as one text
    assert f"{per_week:,.1f} a week over the 52.0 weeks with data" in words
    net = report.alternatives[0].net
    assert "nan" not in text.lower().split() and not any(map(math.isnan, (net.low, net.central, net.high)))
