"""Erlang C staffing: textbook values and the properties a planner relies on."""

from __future__ import annotations

import pytest

from divert.staffing import erlang_c, responders_needed, service_level, staffing_plan


def test_erlang_c_textbook_value():
    # A = 10 erlangs, 12 agents: P(wait) = 0.4493 (standard Erlang C tables)
    assert erlang_c(12, 10.0) == pytest.approx(0.4493, abs=5e-4)


def test_more_responders_never_lower_the_service_level():
    levels = [service_level(n, arrivals_per_hour=6, service_minutes=45, target_minutes=15) for n in range(5, 15)]
    assert levels == sorted(levels) and levels[-1] > 0.99


def test_the_staffing_is_the_smallest_that_meets_the_target():
    n = responders_needed(arrivals_per_hour=6, service_minutes=45, target_minutes=15, target_share=0.8)
    assert service_level(n, arrivals_per_hour=6, service_minutes=45, target_minutes=15) >= 0.8
    assert service_level(n - 1, arrivals_per_hour=6, service_minutes=45, target_minutes=15) < 0.8


def test_travel_time_needs_more_responders():
    base = responders_needed(arrivals_per_hour=3, service_minutes=60, target_minutes=15)
    assert responders_needed(arrivals_per_hour=3, service_minutes=60, target_minutes=15, travel_minutes=10) >= base


def test_plan_covers_every_hour_of_the_week_and_frees_police_time():
    plan = staffing_plan({h: 1.0 for h in range(168)}, service_minutes=60, target_minutes=15,
                         police_minutes_per_call=90)
    assert len(plan) == 168 and all(p.responders >= 2 for p in plan)
    assert sum(p.police_unit_hours_freed for p in plan) == pytest.approx(168 * 1.5)
