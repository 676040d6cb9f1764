"""Teams needed, by simulation, with Erlang C's answer beside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from divert.exceptions import ConfigError
from divert.simulation import AssumedService, SimCall, sim_calls, simulate, teams_for_program, teams_needed
from divert.simulation.sizing import blocks_of
from divert.staffing import responders_needed


def test_blocks_are_named_by_the_hours_they_hold():
    hours = [d * 24 + h for d in range(7) for h in range(7, 23)]
    blocks = blocks_of(hours, 8)
    assert list(blocks)[:3] == ["Mon 07–08", "Mon 08–16", "Mon 16–23"]
    assert blocks["Mon 16–23"] == tuple(range(16, 23))
    assert blocks_of(hours, None) == {"all": tuple(hours)}
    with pytest.raises(ConfigError, match="divide the day"):
        blocks_of(hours, 5)


def test_the_flat_answer_is_the_smallest_that_meets_the_target(sa_calls, sa_model, crisis_program):
    program = crisis_program(1)
    calls = sim_calls([c for c in sa_calls if c.eligible and c.route == "crisis"
                       and c.call.areas.get("substation") == "EAST"
                       and 7 <= c.call.received_at.astimezone(program.timezone).hour < 23], "substation")
    assumed = AssumedService.on_scene(sa_model)
    sizing = teams_for_program(program, calls, assumed=assumed)
    (block,) = sizing.blocks
    assert block.share_within_target >= 0.8
    fewer = simulate(calls, teams={h: block.teams - 1 for h in block.hours}, target_minutes=15, assumed=assumed,
                     timezone=program.timezone)
    assert fewer.overall.share_within_target < 0.8
    # Erlang C beside, from the same calls per observed hour and service minutes
    assert block.arrivals_per_hour == pytest.approx(len(calls) / (5 * 16))
    assert block.mean_service_minutes == pytest.approx(32.4)
    assert block.erlang_c_teams == responders_needed(arrivals_per_hour=block.arrivals_per_hour,
                                                     service_minutes=32.4, target_minutes=15, target_share=0.8)


def test_blocks_are_sized_together_and_a_block_without_calls_needs_no_team():
    monday = datetime(2024, 4, 22, tzinfo=UTC)
    # a burst of six 60-minute calls at 08:00-08:05, one call at 12:00
    calls = [SimCall(str(i), monday + timedelta(hours=8, minutes=i), service_minutes=60)
             for i in range(6)]
    calls.append(SimCall("noon", monday + timedelta(hours=12), service_minutes=60))
    sizing = teams_needed(calls, target_minutes=15, target_share=0.8, assumed=AssumedService.flat(60, "x"),
                          hours=range(24), block_hours=4)
    teams = {b.block: b.teams for b in sizing.blocks}
    assert teams["Mon 08–12"] >= 5 and teams["Mon 12–16"] == 1 and teams["Mon 00–04"] == 0
    assert all(b.share_within_target >= 0.8 for b in sizing.blocks if b.calls)
    assert sizing.team_hours_per_week == sum(4 * n for n in teams.values())
