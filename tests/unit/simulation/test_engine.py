"""The simulation's rules on small fixtures: queue, patience, discipline, rosters, service sources."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from divert.exceptions import ConfigError
from divert.simulation import AssumedService, SimCall, simulate

MONDAY = datetime(2024, 4, 22, 9, 0, tzinfo=UTC)      # a Monday
FLAT_20 = AssumedService.flat(20, "20 minutes, assumed")


def at(minutes: float) -> datetime:
    return MONDAY + timedelta(minutes=minutes)


def call(i: int, minute: float, service: float | None = None, area: str = "all") -> SimCall:
    return SimCall(f"c{i}", at(minute), area, service)


def waits(sim) -> list[float | None]:
    return [o.wait_minutes for o in sim.outcomes]


def test_a_free_team_starts_at_once_and_a_busy_one_makes_the_next_call_wait():
    sim = simulate([call(1, 0, 30), call(2, 10, 30)], teams=1, target_minutes=15, patience_minutes=math.inf,
                   assumed=FLAT_20)
    assert waits(sim) == [0.0, 20.0]
    assert sim.overall.within_target == 1 and sim.overall.waited == 1 and sim.overall.lost == 0


def test_a_call_no_team_can_start_within_the_patience_is_lost():
    # default patience: the target
    sim = simulate([call(1, 0, 30), call(2, 10, 30)], teams=1, target_minutes=15, assumed=FLAT_20)
    assert sim.patience_minutes == 15 and waits(sim) == [0.0, None]
    assert sim.overall.lost == 1 and sim.overall.share_within_target == 0.5
    # the lost call took no team time: the next one finds the team free when the first ends
    sim = simulate([call(1, 0, 30), call(2, 10, 30), call(3, 31, 5)], teams=1, target_minutes=15, assumed=FLAT_20)
    assert waits(sim) == [0.0, None, 0.0]


def test_the_queue_discipline_chooses_which_waiting_call_a_freed_team_takes():
    calls = [call(1, 0, 30), call(2, 5, 10), call(3, 10, 10)]
    fifo = simulate(calls, teams=1, target_minutes=60, patience_minutes=math.inf, assumed=FLAT_20)
    lifo = simulate(calls, teams=1, target_minutes=60, patience_minutes=math.inf, assumed=FLAT_20, discipline="lifo")
    assert waits(fifo) == [0.0, 25.0, 30.0]
    assert waits(lifo) == [0.0, 35.0, 20.0]
    with pytest.raises(ConfigError, match="queue discipline"):
        simulate(calls, teams=1, target_minutes=60, assumed=FLAT_20, discipline="random")


def test_service_minutes_are_measured_where_recorded_and_assumed_otherwise():
    sim = simulate([call(1, 0, 12.5), call(2, 60, None)], teams=1, target_minutes=15, assumed=FLAT_20)
    assert [(o.service_minutes, o.assumed) for o in sim.outcomes] == [(12.5, False), (20.0, True)]
    assert (sim.measured_service, sim.assumed_service, sim.assumed_source) == (1, 1, "20 minutes, assumed")


def test_teams_by_hour_of_week_come_and_go_and_a_busy_team_finishes_its_call():
    # one team on Monday 09h only (hour of week 9, UTC): a call at 09:50 runs past 10:00 and is
    # finished; a call at 10:05 finds no team on duty and is lost
    sim = simulate([call(1, 50, 30), call(2, 65, 10)], teams={9: 1}, target_minutes=15, assumed=FLAT_20)
    assert waits(sim) == [0.0, None]
    # a team coming on duty at 10:00 starts the call that has waited since 09:55
    sim = simulate([call(1, 55, 10)], teams={10: 1}, target_minutes=15, assumed=FLAT_20)
    assert waits(sim) == [5.0]


def test_utilisation_counts_duty_on_the_observed_days_only():
    # two calls a week apart: 2 observed days × 24 h × 1 team, 60 busy minutes
    sim = simulate([call(1, 0, 30), call(2, 7 * 24 * 60, 30)], teams=1, target_minutes=15, assumed=FLAT_20)
    assert sim.observed_days == 2
    assert sim.overall.duty_team_minutes == 2 * 24 * 60
    assert sim.overall.utilisation == pytest.approx(60 / (2 * 24 * 60))
    # busy minutes fall in the hours they were spent: 09:00-09:30 on both Mondays
    assert sim.by_hour_of_week[9].busy_team_minutes == 60


def test_hours_of_week_are_local_time():
    chicago = ZoneInfo("America/Chicago")    # 09:00 UTC = 04:00 in Chicago in April (CDT)
    sim = simulate([call(1, 0, 10)], teams={4: 1}, target_minutes=15, assumed=FLAT_20, timezone=chicago)
    assert sim.outcomes[0].hour_of_week == 4 and waits(sim) == [0.0]
    assert sim.overall.duty_team_minutes == 60


def test_results_by_area_share_the_teams():
    sim = simulate([call(1, 0, 30, "EAST"), call(2, 5, 30, "WEST"), call(3, 6, 30, "WEST")], teams=2,
                   target_minutes=15, assumed=FLAT_20, observed_days=[date(2024, 4, 22)])
    east, west = sim.by_area["EAST"], sim.by_area["WEST"]
    assert (east.calls, east.lost, west.calls, west.lost) == (1, 0, 2, 1)
    assert east.utilisation == pytest.approx(30 / (2 * 24 * 60))


def test_no_calls_and_bad_settings():
    sim = simulate([], teams=2, target_minutes=15, assumed=FLAT_20)
    assert sim.overall.calls == 0 and sim.overall.share_within_target is None and sim.overall.utilisation is None
    with pytest.raises(ConfigError, match="teams"):
        simulate([call(1, 0)], teams={200: 1}, target_minutes=15, assumed=FLAT_20)
    with pytest.raises(ConfigError, match="target"):
        simulate([call(1, 0)], teams=1, target_minutes=0, assumed=FLAT_20)
