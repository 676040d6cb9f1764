"""The funnel on a real slice of San Antonio (substation EAST, crisis program 07:00–23:00, 2 and 4
teams) and, for the stages San Antonio cannot show, on small fixtures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from divert.costs.model import load_model
from divert.funnel import STAGES, funnel
from divert.simulation import AssumedService, Program, erlang_c_share
from schemas.records import CadEvent, ClassifiedCall
from tests.unit.simulation.conftest import SUBSTATION, program_policy


@pytest.fixture(scope="module")
def sa_funnels(sa_calls, sa_model, crisis_program):
    assumed = AssumedService.on_scene(sa_model)
    return {teams: funnel(sa_calls, crisis_program(teams), assumed=assumed) for teams in (2, 4)}


def test_every_stage_is_a_subset_and_every_drop_has_a_reason(sa_calls, sa_funnels):
    f = sa_funnels[2]
    counts = [s.count for s in f.stages]
    assert [s.name for s in f.stages] == list(STAGES)
    assert f.records == len(sa_calls)
    previous = f.records
    for stage in f.stages[:-1]:
        assert stage.count + sum(stage.dropped.values()) == previous, stage.name
        previous = stage.count
    assert counts[:6] == sorted(counts[:6], reverse=True) and counts[4] > 0
    assert len(f.exits) == f.records - counts[5]
    # San Antonio: officer activity is a call type; the program's hours and substation drop calls
    assert f.stage("community calls").dropped["officer-initiated"] > 0
    assert set(f.stage("inside program hours").dropped) == {"outside program hours"}
    assert all(r.startswith("outside program areas (substation=") for r in f.stage("inside program areas").dropped)
    assert all(e.area == SUBSTATION for e in f.exits if e.stage == "servable by its teams")


def test_served_is_not_measured_in_san_antonio(sa_funnels):
    served = sa_funnels[2].stage("served")
    assert served.count is None and served.basis == "not measured"
    assert any("not measured" in n for n in sa_funnels[2].notes)


def test_two_and_four_teams_on_san_antonio(sa_funnels):
    two, four = sa_funnels[2].simulation, sa_funnels[4].simulation
    calls = sa_funnels[2].stage("inside program areas").count
    assert two.overall.calls == four.overall.calls == calls
    # San Antonio publishes no arrival or clear time: every service time is the cost model's
    assert two.assumed_service == calls and two.measured_service == 0
    assert two.observed_days == 5 and set(two.schedule) == {d * 24 + h for d in range(7) for h in range(7, 23)}
    assert four.overall.share_within_target > two.overall.share_within_target
    assert four.overall.lost < two.overall.lost
    # utilisation: the served calls' minutes over 5 days × 16 hours × teams
    for teams, sim in ((2, two), (4, four)):
        served = [o for o in sim.outcomes if not o.lost]
        assert sim.overall.duty_team_minutes == 5 * 16 * 60 * teams
        assert sim.overall.utilisation == pytest.approx(sum(o.service_minutes for o in served) / (5 * 16 * 60 * teams))
    assert sa_funnels[4].stage("servable by its teams").count == four.overall.within_target
    # Erlang C for the same inputs, beside: more teams, a higher share for it too
    assert erlang_c_share(four) > erlang_c_share(two)


# -- fixtures for the stages San Antonio's data cannot show -----------------------------------

MONDAY_NOON = datetime(2024, 4, 22, 17, 0, tzinfo=UTC)      # 12:00 in San Antonio


def classified(i: int, *, code="WELFARE", eligible_initial=True, route="crisis", reasons=(), source="911",
               substation=SUBSTATION, received_at=MONDAY_NOON, precision="second", disposition=None,
               policy_version="default-2026.1") -> ClassifiedCall:
    ev = CadEvent(agency="san_antonio", incident_id=str(i), source=source, initial_type="T", received_at=received_at,
                  time_precision=precision, areas={"substation": substation}, disposition=disposition)
    return ClassifiedCall(call=ev, apco_code=code, crosswalk_confidence=0.9, route=route,
                          eligible_initial=eligible_initial, eligible=route == "crisis", reasons=list(reasons),
                          policy_version=policy_version)


@pytest.fixture(scope="module")
def program():
    return Program(program_policy("crisis"), "san_antonio", "crisis", teams=1, target_minutes=15)


ASSUMED = AssumedService.on_scene(load_model("san_antonio"))


def test_each_drop_names_its_reason(program):
    calls = [
        classified(1, source="officer_initiated", code="TSTOP", eligible_initial=False, route="officer_initiated"),
        classified(2, code="NOISE", route="navigator"),
        classified(3, code="ASSAULT", eligible_initial=False, route="police"),
        classified(4, code=None, eligible_initial=False, route="police"),
        classified(5, eligible_initial=False, route="co_response", reasons=["guard: type reads as violent ('GUN') → co_response"]),
        classified(6, route="co_response", reasons=["disqualified: weapon mentioned in type ('KNIFE' in type) → co_response"]),
        classified(7, received_at=datetime(2024, 4, 22, 6, 0, tzinfo=UTC)),      # 01:00 local
        classified(8, substation="WEST"),
        classified(9, received_at=datetime(2024, 4, 22, 0, 0, tzinfo=UTC), precision="day"),
        classified(10),
    ]
    f = funnel(calls, program, assumed=ASSUMED)
    reasons = {e.incident_id: (e.stage, e.reason) for e in f.exits}
    assert reasons == {
        "1": ("community calls", "officer-initiated"),
        "2": ("eligible by initial type", "initial type → navigator"),
        "3": ("eligible by initial type", "initial type → police"),
        "4": ("eligible by initial type", "type not mapped by the crosswalk → police"),
        "5": ("eligible by initial type", "type reads as violent (guard) → co_response"),
        "6": ("after disqualifiers", "weapon mentioned in type"),
        "7": ("inside program hours", "outside program hours"),
        "8": ("inside program areas", "outside program areas (substation=WEST)"),
        "9": ("servable by its teams", "time known to the day only (not simulated)"),
    }
    assert [s.count for s in f.stages[:6]] == [9, 5, 4, 3, 2, 1]
    hours = {e.incident_id: e.hour_of_week for e in f.exits}
    assert hours["7"] == 1 and hours["9"] is None      # Monday 01h local; a day-only time has no hour


def test_calls_lost_to_busy_teams_and_served_measured(program):
    calls = [classified(1, disposition="CRISIS TEAM"), classified(2, disposition="REPORT WRITTEN"), classified(3)]
    f = funnel(calls, program, assumed=ASSUMED, alternative_dispositions={"Crisis Team"})
    # one team: the first call takes it for 32.4 min, the two others arrive at the same time
    assert f.stage("servable by its teams").dropped == {"lost: no team free within 15 min": 2}
    served = f.stage("served")
    assert (served.count, served.basis) == (1, "measured")
    f = funnel(calls[1:], program, assumed=ASSUMED, alternative_dispositions={"CRISIS TEAM"})
    assert f.stage("served").dropped == {"not marked as an alternative response": 1}


def test_a_call_classified_under_another_policy_is_noted(program):
    f = funnel([classified(1, policy_version="old-1")], program, assumed=ASSUMED)
    assert any("another policy (old-1)" in n for n in f.notes)
