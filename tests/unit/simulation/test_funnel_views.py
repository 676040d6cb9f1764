"""The funnel's views on the real San Antonio slice (substation EAST, crisis 07:00–23:00): per group
counts, coverage gaps, the calls reaching a stage; the program built from a route; the reasons the
classifier writes and the funnel reads through one helper."""

from __future__ import annotations

import pytest

from divert.classify import DISQUALIFIED, GUARD, disqualifier_names, reason, reason_details
from divert.funnel import GAPS, STAGES, by_group, coverage_gaps, funnel, program_for, reaching
from divert.policy import load_policy
from divert.simulation import AssumedService
from tests.unit.simulation.conftest import SUBSTATION


@pytest.fixture(scope="module")
def sa_funnel(sa_calls, sa_model):
    alt = sa_model.alternatives["crisis"]
    hours = frozenset(d * 24 + h for d in range(7) for h in range(7, 23))
    program = program_for(load_policy(), "san_antonio", "crisis", teams=2, target_minutes=alt.target_minutes,
                          target_share=alt.target_share, hours=hours, areas={"substation": frozenset({SUBSTATION})})
    return funnel(sa_calls, program, assumed=AssumedService.team(alt))


def test_program_for_overrides_hours_and_areas_only(sa_funnel):
    a = sa_funnel.program.availability
    assert a.areas == {"substation": frozenset({SUBSTATION})} and len(a.hours) == 7 * 16 and a.fallback == "police"
    plain = program_for(load_policy(), "san_antonio", "navigator", teams=1, target_minutes=15, target_share=0.8)
    assert plain.availability_override is None and plain.availability.hours is not None


def test_groups_add_up_to_the_stages(sa_calls, sa_funnel):
    f = sa_funnel
    areas = by_group(f, sa_calls, lambda c: c.call.areas.get("substation"))
    days = by_group(f, sa_calls, lambda c: c.call.received_at.date().isoformat())
    for groups in (areas, days):
        for i, stage in enumerate(f.stages):
            total = [row[i] for row in groups.values()]
            assert (None if stage.count is None else sum(total)) == (stage.count if stage.count is not None
                                                                      else total[0]), stage.name
    # only the program's substation reaches the areas stage
    assert {k for k, row in areas.items() if row[4]} == {SUBSTATION}
    assert all(row[6] is None for row in areas.values())           # served: not measured in San Antonio


def test_reaching_and_gaps(sa_calls, sa_funnel):
    f = sa_funnel
    in_areas = reaching(f, sa_calls, STAGES[4])
    assert len(in_areas) == f.stage(STAGES[4]).count
    gaps = coverage_gaps(f, sa_calls)
    assert gaps.eligible == f.stage(STAGES[2]).count
    assert gaps.total("outside hours") == sum(f.stage(STAGES[3]).dropped.values()) > 0
    assert gaps.total("outside areas") == sum(f.stage(STAGES[4]).dropped.values()) > 0
    busy = sum(n for r, n in f.stage(STAGES[5]).dropped.items() if not r.startswith("time known"))
    assert gaps.total("every team busy") == busy
    # the hours outside the program's are 23:00–07:00 local; every gap has its hour (timed calls)
    assert all(h % 24 in {23, 0, 1, 2, 3, 4, 5, 6} for h in gaps.by_hour["outside hours"])
    assert set(gaps.by_hour) == set(gaps.by_area) == set(GAPS)
    assert sum(gaps.eligible_by_hour.values()) + gaps.day_only == gaps.eligible


def test_reasons_are_written_and_read_by_one_helper(sa_calls):
    stored = [r for c in sa_calls for r in c.reasons]
    assert any(r.startswith(reason(DISQUALIFIED, "")) for r in stored)
    guard = reason(GUARD, "type reads as violent ('GUN') → police")
    assert reason_details([guard, "policy x: A → crisis"], GUARD) == ["type reads as violent ('GUN') → police"]
    assert disqualifier_names([reason(DISQUALIFIED, "injury (INJ in type) → police"),
                               reason(DISQUALIFIED, "injury (HURT in type) → police")]) == ["injury"]
