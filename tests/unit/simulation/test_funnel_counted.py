"""Counting the calls that never reach the program's route instead of reading them gives the same
funnel: on the real San Antonio slice (substation EAST, crisis 07:00–23:00), the calls the database
would count (officer-initiated, or an initial code the policy routes elsewhere) are counted here
the way consumers/db/sources/funnel.py counts them, and the funnel of the rest plus those counts is
the funnel of every call, stage by stage, reason by reason, area by area, month by month. The rows
a stored funnel keeps come from it."""

from __future__ import annotations

from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from divert.funnel import (
    ALL,
    STAGES,
    Early,
    EarlyGroup,
    EarlyType,
    by_group,
    coverage_gaps,
    funnel,
    program_for,
    reach,
    stage_rows,
)
from divert.policy import load_policy
from divert.simulation import AssumedService
from tests.unit.simulation.conftest import SUBSTATION

TZ = ZoneInfo("America/Chicago")


def reaches(c, r) -> bool:
    if r.default_reaches:
        return c.apco_code is None or c.apco_code not in r.others
    return c.apco_code in r.codes


def counted(calls, r, layer: str) -> tuple[list, Early]:
    """Split ``calls`` as the source does: the rest one by one, the early leavers counted."""
    rest, by_type, by_area_day = [], Counter(), Counter()
    for c in calls:
        officer = c.call.source == "officer_initiated"
        if not officer and reaches(c, r):
            rest.append(c)
            continue
        by_type[(officer, c.apco_code, c.policy_version)] += 1
        by_area_day[(officer, c.call.areas.get(layer) or None, c.call.received_at.astimezone(TZ).date())] += 1
    return rest, Early(tuple(EarlyType(*k, n) for k, n in by_type.items()),
                       tuple(EarlyGroup(*k, n) for k, n in by_area_day.items()))


@pytest.fixture(scope="module", params=["crisis", "navigator"])
def both(request, sa_calls, sa_model):
    route = request.param
    alt = sa_model.alternatives[route]
    hours = frozenset(d * 24 + h for d in range(7) for h in range(7, 23))
    program = program_for(load_policy(), "san_antonio", route, teams=2, target_minutes=alt.target_minutes,
                          target_share=alt.target_share, hours=hours, areas={"substation": frozenset({SUBSTATION})})
    assumed = AssumedService.team(alt)
    rest, early = counted(sa_calls, reach(program), "substation")
    return (funnel(sa_calls, program, assumed=assumed), funnel(rest, program, assumed=assumed, early=early),
            rest, early)


def test_counting_the_early_leavers_gives_the_same_funnel(both, sa_calls):
    whole, split, rest, early = both
    assert early.calls > len(rest) > 0                  # most calls are counted, not read
    assert split.records == whole.records == len(sa_calls)
    assert split.stages == whole.stages                 # every count, every reason, every basis
    assert split.notes == whole.notes
    assert split.simulation.overall == whole.simulation.overall


def test_groups_and_gaps_are_the_same(both, sa_calls):
    whole, split, rest, _ = both
    by_area = by_group(whole, sa_calls, lambda c: c.call.areas.get("substation") or "unknown")
    assert by_group(split, rest, lambda c: c.call.areas.get("substation") or "unknown",
                    lambda g: g.area or "unknown") == by_area
    month = by_group(whole, sa_calls, lambda c: c.call.received_at.astimezone(TZ).strftime("%Y-%m-%d"))
    assert by_group(split, rest, lambda c: c.call.received_at.astimezone(TZ).strftime("%Y-%m-%d"),
                    lambda g: g.day.strftime("%Y-%m-%d")) == month
    assert coverage_gaps(split, rest) == coverage_gaps(whole, sa_calls)
    with pytest.raises(ValueError, match="early_key"):
        by_group(split, rest, lambda c: "x")


def test_stored_rows_hold_every_stage_reason_and_group(both, sa_calls):
    whole, *_ = both
    by_area = by_group(whole, sa_calls, lambda c: c.call.areas.get("substation") or "unknown")
    rows = stage_rows(whole, by_area, {})
    overall = [r for r in rows if r.area == ALL and r.period == ALL and r.reason is None]
    assert [(r.stage, r.calls, r.basis) for r in overall] == [(s.name, s.count, s.basis) for s in whole.stages]
    for i, s in enumerate(whole.stages):
        assert {r.reason: r.calls for r in rows if r.stage_order == i and r.reason} == s.dropped
    assert {r.area for r in rows if r.area != ALL} == set(by_area)
    assert all(r.calls is None for r in rows if r.stage == STAGES[6])     # served: not measured here
