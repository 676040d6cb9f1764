"""How many alternative responders a route needs, hour by hour of the week (Erlang C).

Eligible calls arrive at a rate λ per hour; each keeps a responder busy for ``service``
minutes on average (travel, on scene, wrap-up). With n responders, a call waits for a free
one with probability C(n, A) (Erlang C, offered load A = λ·service/60), and the share of
calls answered within t minutes is

    SL(n) = 1 − C(n, A) · exp(−(n − A) · t / service)

The staffing for an hour is the smallest n > A with SL(n) ≥ the target share. A server is a
team of the alternative's size (``responders_per_team`` in the cost model): n teams on duty
for an hour are n team-hours, priced per team-hour, and n × team size responder-hours. The model
assumes Poisson arrivals and exponential service times, and answers the question
"how many teams must be on duty so that 80% of calls get a team within 15 minutes".
Travel time counts toward the target when it is passed as ``travel_minutes``.

>>> round(erlang_c(2, 1.0), 4)
0.3333
>>> round(service_level(3, arrivals_per_hour=4, service_minutes=30, target_minutes=15), 3)
0.73
>>> responders_needed(arrivals_per_hour=4, service_minutes=30, target_minutes=15, target_share=0.8)
4
>>> responders_needed(arrivals_per_hour=0, service_minutes=30, target_minutes=15)
0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from divert.exceptions import ConfigError

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that a call waits, with ``servers`` responders and load A (erlangs).

    Computed through the Erlang B recursion, stable for large n.

    >>> erlang_c(1, 0.5)
    0.5
    >>> erlang_c(3, 3.0)
    1.0
    """
    if offered_load <= 0:
        return 0.0
    if servers <= offered_load:
        return 1.0
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    return servers * b / (servers - offered_load * (1 - b))


def service_level(servers: int, *, arrivals_per_hour: float, service_minutes: float,
                  target_minutes: float, travel_minutes: float = 0.0) -> float:
    """Share of calls that get a responder within ``target_minutes`` (travel included)."""
    load = arrivals_per_hour * service_minutes / 60
    wait_budget = target_minutes - travel_minutes
    if load <= 0:
        return 1.0
    if servers <= load or wait_budget < 0:
        return 0.0
    return 1 - erlang_c(servers, load) * math.exp(-(servers - load) * wait_budget / service_minutes)


def responders_needed(*, arrivals_per_hour: float, service_minutes: float, target_minutes: float,
                      target_share: float = 0.8, travel_minutes: float = 0.0, limit: int = 1000) -> int:
    """The smallest number of responders meeting the target (0 when nothing arrives)."""
    if not 0 < target_share < 1:
        raise ConfigError(f"target share must be between 0 and 1, not {target_share}")
    if service_minutes <= 0 or target_minutes <= 0:
        raise ConfigError("service and target minutes must be positive")
    if target_minutes <= travel_minutes:
        raise ConfigError(f"the target ({target_minutes} min) leaves no time beyond travel ({travel_minutes} min)")
    if arrivals_per_hour <= 0:
        return 0
    load = arrivals_per_hour * service_minutes / 60
    n = max(1, math.floor(load) + 1)
    while n <= limit:
        if service_level(n, arrivals_per_hour=arrivals_per_hour, service_minutes=service_minutes,
                         target_minutes=target_minutes, travel_minutes=travel_minutes) >= target_share:
            return n
        n += 1
    raise ConfigError(f"more than {limit} responders would be needed: check the demand and service time")


@dataclass(frozen=True)
class HourPlan:
    hour_of_week: int            # 0 = Monday 00:00 local time
    arrivals_per_hour: float
    teams: int                   # Erlang C's servers: teams of the alternative's size, on duty
    service_level: float
    police_unit_hours_freed: float | None

    @property
    def responders(self) -> int:
        """The servers of the model (kept for callers that named them so): teams, not people."""
        return self.teams

    @property
    def label(self) -> str:
        return f"{DAYS[self.hour_of_week // 24]} {self.hour_of_week % 24:02d}:00"


def staffing_plan(arrivals: Mapping[int, float], *, service_minutes: float, target_minutes: float,
                  target_share: float = 0.8, travel_minutes: float = 0.0,
                  police_minutes_per_call: float | None = None) -> list[HourPlan]:
    """One row per hour of the week (0..167): teams needed, and the police unit-hours the
    eligible calls of that hour take today (freed if the alternative responders take them).

    >>> plan = staffing_plan({9: 4.0, 10: 0.5}, service_minutes=30, target_minutes=15, police_minutes_per_call=45)
    >>> [(p.label, p.teams, p.police_unit_hours_freed) for p in plan[9:11]]
    [('Mon 09:00', 4, 3.0), ('Mon 10:00', 1, 0.375)]
    >>> team_hours(plan), peak(plan).label
    (5, 'Mon 09:00')
    """
    plan = []
    for hour in range(168):
        rate = float(arrivals.get(hour, 0.0))
        n = responders_needed(arrivals_per_hour=rate, service_minutes=service_minutes,
                              target_minutes=target_minutes, target_share=target_share,
                              travel_minutes=travel_minutes)
        sl = service_level(n, arrivals_per_hour=rate, service_minutes=service_minutes,
                           target_minutes=target_minutes, travel_minutes=travel_minutes)
        freed = None if police_minutes_per_call is None else rate * police_minutes_per_call / 60
        plan.append(HourPlan(hour, rate, n, sl, freed))
    return plan


def team_hours(plan: list[HourPlan]) -> int:
    """Team-hours on duty in a week: the teams of every hour, summed."""
    return sum(p.teams for p in plan)


def peak(plan: list[HourPlan]) -> HourPlan:
    """The hour needing the most teams (the first such hour)."""
    return max(plan, key=lambda p: p.teams)


def answered_in_target(arrivals: Mapping[int, float], teams: int, *, service_minutes: float,
                       target_minutes: float) -> float:
    """Calls a week that reach a team within the target when ``teams`` teams are on duty every hour.

    >>> answered_in_target({9: 4.0}, 1, service_minutes=30, target_minutes=15)
    0.0
    >>> round(answered_in_target({9: 4.0}, 4, service_minutes=30, target_minutes=15), 2)
    3.74
    """
    return sum(rate * service_level(teams, arrivals_per_hour=rate, service_minutes=service_minutes,
                                    target_minutes=target_minutes) for rate in arrivals.values())
