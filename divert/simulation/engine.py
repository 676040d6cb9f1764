"""A program's teams simulated over real arrival times (simpy, discrete events).

Each call arrives at its real time and asks for a team. A team on duty and free starts it at once;
otherwise the call waits in the queue. The rules, each a parameter:

- ``teams``: a flat number of teams, or teams per hour of week (0 = Monday 00h, local time; an
  hour missing = no team). Teams are on duty only on the *observed days* (a sampled city publishes
  some days a month: the days between are not simulated as idle time). A team stood down while
  busy finishes its call first, then goes home; a team coming on duty starts the oldest waiting call.
- ``discipline``: which waiting call a freed team takes: ``"fifo"`` (default, the longest
  waiting, as dispatch does) or ``"lifo"`` (the newest, which keeps more calls within the target
  when the queue is long, at the cost of the oldest).
- ``patience_minutes``: how long a call waits for a team before it is *lost* (dispatch sends the
  fallback, police, instead). Default: the target — a call no team can start within the target
  goes to the police. ``math.inf`` never loses a call (Erlang C's assumption); a call still
  waiting when no team is left on duty is lost then.

A call is *within target* if a team starts it within ``target_minutes`` of its arrival; a lost
call is not. Waits (p50, p90) are over the calls a team started. Utilisation is busy team-minutes
over on-duty team-minutes. By hour of week, calls count in the hour they arrived in and busy
minutes in the hours they were spent; by area, utilisation is the share of all on-duty team time
the area's calls took (teams are pooled over the program's areas).

Hours of week follow the local wall clock of ``timezone`` (time zones with whole-hour offsets).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict, deque
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

import numpy as np
import simpy

from divert.exceptions import ConfigError
from divert.simulation.calls import AssumedService, SimCall

Discipline = Literal["fifo", "lifo"]
DISCIPLINES: tuple[str, ...] = Discipline.__args__  # type: ignore[attr-defined]
HOUR = timedelta(hours=1)


def hour_of_week(at: datetime, tz: tzinfo) -> int:
    local = at.astimezone(tz)
    return local.weekday() * 24 + local.hour


def day_hours(days: Iterable[date], tz: tzinfo) -> Iterator[tuple[datetime, int]]:
    """Every wall-clock hour of the given local days, in order: (UTC start, local hour of week).
    A day of a daylight-saving change has 23 or 25 of them."""
    for day in sorted(set(days)):
        start = datetime.combine(day, time(), tz).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC)
        while start < end:
            yield start, hour_of_week(start, tz)
            start += HOUR


def observed_hours(days: Iterable[date], tz: tzinfo) -> Counter[int]:
    """How many times each hour of week occurs on the observed days."""
    return Counter(how for _, how in day_hours(days, tz))


def team_schedule(teams: int | Mapping[int, int], hours: Collection[int] | None = None) -> dict[int, int]:
    """Teams per hour of week from a flat number or a mapping, kept to ``hours`` (None = every hour)."""
    per_hour = {h: teams for h in range(168)} if isinstance(teams, int) else dict(teams)
    if any(not isinstance(n, int) or n < 0 for n in per_hour.values()) or any(not 0 <= h < 168 for h in per_hour):
        raise ConfigError(f"teams must be whole numbers, 0 or more, per hour of week 0..167: {teams!r}")
    return {h: n for h, n in per_hour.items() if n and (hours is None or h in hours)}


@dataclass(frozen=True)
class CallOutcome:
    call: SimCall
    hour_of_week: int
    service_minutes: float
    assumed: bool                       # service minutes from the cost model, not measured
    wait_minutes: float | None          # None: lost, no team started it within the patience

    @property
    def lost(self) -> bool:
        return self.wait_minutes is None

    def within(self, target_minutes: float) -> bool:
        return self.wait_minutes is not None and self.wait_minutes <= target_minutes


@dataclass(frozen=True)
class Summary:
    calls: int
    within_target: int
    lost: int
    waited: int                         # waited for a team, or lost
    wait_p50: float | None              # minutes, over the calls a team started
    wait_p90: float | None
    busy_team_minutes: float
    duty_team_minutes: float

    @property
    def share_within_target(self) -> float | None:
        return self.within_target / self.calls if self.calls else None

    @property
    def lost_share(self) -> float | None:
        return self.lost / self.calls if self.calls else None

    @property
    def waiting_probability(self) -> float | None:
        """Share of calls that found no team free (what Erlang C predicts)."""
        return self.waited / self.calls if self.calls else None

    @property
    def utilisation(self) -> float | None:
        return self.busy_team_minutes / self.duty_team_minutes if self.duty_team_minutes else None


@dataclass(frozen=True)
class Simulation:
    schedule: dict[int, int]             # teams per hour of week
    target_minutes: float
    patience_minutes: float
    discipline: Discipline
    observed_days: int
    overall: Summary
    by_hour_of_week: dict[int, Summary]
    by_area: dict[str, Summary]
    measured_service: int                # calls whose service time the city measured
    assumed_service: int                 # calls whose service time the cost model assumed
    assumed_source: str
    outcomes: tuple[CallOutcome, ...] = field(repr=False)

    @property
    def mean_service_minutes(self) -> float:
        return float(np.mean([o.service_minutes for o in self.outcomes])) if self.outcomes else 0.0


class _Teams:
    """The teams on duty and the queue of calls waiting for one."""

    def __init__(self, env: simpy.Environment, discipline: Discipline):
        self.env = env
        self.idle = 0
        self.busy = 0
        self.stand_down = 0              # busy teams that go home when their call ends
        self.waiting: deque[simpy.Event] = deque()
        self._next = deque.popleft if discipline == "fifo" else deque.pop

    def request(self) -> simpy.Event:
        assigned = self.env.event()
        self.waiting.append(assigned)
        self._dispatch()
        return assigned

    def give_up(self, assigned: simpy.Event) -> None:
        self.waiting.remove(assigned)

    def release(self) -> None:
        self.busy -= 1
        if self.stand_down:
            self.stand_down -= 1
        else:
            self.idle += 1
            self._dispatch()

    def roster(self, teams: int) -> None:
        on_duty = self.idle + self.busy - self.stand_down
        if teams > on_duty:
            back = min(self.stand_down, teams - on_duty)
            self.stand_down -= back
            self.idle += teams - on_duty - back
            self._dispatch()
        elif teams < on_duty:
            off_now = min(self.idle, on_duty - teams)
            self.idle -= off_now
            self.stand_down += on_duty - teams - off_now

    def _dispatch(self) -> None:
        while self.idle and self.waiting:
            self.idle -= 1
            self.busy += 1
            self._next(self.waiting).succeed()


def simulate(calls: Sequence[SimCall], *, teams: int | Mapping[int, int], target_minutes: float,
             assumed: AssumedService, timezone: tzinfo = UTC, patience_minutes: float | None = None,
             discipline: Discipline = "fifo", observed_days: Collection[date] | None = None) -> Simulation:
    """Run the program's teams over ``calls`` (see the module's rules).

    ``observed_days``: the local dates the city published (default: the dates of the calls).
    """
    if target_minutes <= 0:
        raise ConfigError(f"the target must be above 0 minutes, not {target_minutes}")
    patience = target_minutes if patience_minutes is None else float(patience_minutes)
    if patience < 0:
        raise ConfigError(f"the patience must be 0 minutes or more, not {patience}")
    if discipline not in DISCIPLINES:
        raise ConfigError(f"queue discipline must be one of {', '.join(DISCIPLINES)}, not {discipline!r}")
    schedule = team_schedule(teams)
    calls = sorted(calls, key=lambda c: c.arrival)
    days = set(observed_days) if observed_days is not None else {c.arrival.astimezone(timezone).date() for c in calls}
    hours = list(day_hours(days, timezone))
    service = [c.service_minutes if c.service_minutes is not None else assumed.minutes(c.apco_code) for c in calls]
    if any(s < 0 or not math.isfinite(s) for s in service):
        raise ConfigError("service minutes must be finite and 0 or more")
    # minute 0 of the simulation clock: the first UTC hour that matters
    firsts = [start for start, _ in hours[:1]] + [c.arrival for c in calls[:1]]
    origin = min(firsts, default=datetime(1970, 1, 1, tzinfo=UTC))
    origin = origin.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    arrival = [(c.arrival - origin).total_seconds() / 60 for c in calls]
    arrived = arrival[:]   # as the simulation clock reads them (float sums), so a wait at once is exactly 0
    starts: list[float | None] = [None] * len(calls)
    env = simpy.Environment()
    pool = _Teams(env, discipline)

    def call(i: int):
        arrived[i] = env.now
        assigned = pool.request()
        if not assigned.triggered:
            yield (assigned | env.timeout(patience)) if math.isfinite(patience) else assigned
        if not assigned.triggered:
            pool.give_up(assigned)
            return
        starts[i] = env.now
        yield env.timeout(service[i])
        pool.release()

    def arrivals():
        for i, at in enumerate(arrival):
            yield env.timeout(max(0.0, at - env.now))
            env.process(call(i))

    def rosters():
        for at, n in _roster_changes(hours, schedule, origin):
            yield env.timeout(max(0.0, at - env.now))
            pool.roster(n)

    env.process(rosters())   # first, so a roster change and an arrival at the same minute see the new roster
    env.process(arrivals())
    env.run()   # ends when no call is left in service (a call still waiting then had no team left on duty)

    outcomes = tuple(CallOutcome(c, hour_of_week(c.arrival, timezone), service[i], c.service_minutes is None,
                                 None if starts[i] is None else starts[i] - arrived[i])
                     for i, c in enumerate(calls))
    duty_by_hour: dict[int, float] = defaultdict(float)
    for _, how in hours:
        duty_by_hour[how] += 60.0 * schedule.get(how, 0)
    hour_of = {round((start - origin).total_seconds() / 3600): how for start, how in hours}
    busy_by_hour: dict[int, float] = defaultdict(float)
    for start, minutes in zip(starts, service, strict=True):
        if start is None:
            continue
        end = start + minutes
        for index in range(math.floor(start / 60), math.floor(end / 60) + 1):
            overlap = min(end, 60.0 * (index + 1)) - max(start, 60.0 * index)
            if overlap > 0:
                if index not in hour_of:   # past the observed days: a call finished after the shift
                    hour_of[index] = hour_of_week(origin + index * HOUR, timezone)
                busy_by_hour[hour_of[index]] += overlap

    by_hour: dict[int, list[CallOutcome]] = defaultdict(list)
    by_area: dict[str, list[CallOutcome]] = defaultdict(list)
    for o in outcomes:
        by_hour[o.hour_of_week].append(o)
        by_area[o.call.area].append(o)
    duty = sum(duty_by_hour.values())
    assumed_calls = sum(o.assumed for o in outcomes)
    return Simulation(
        schedule=schedule, target_minutes=target_minutes, patience_minutes=patience, discipline=discipline,
        observed_days=len(days),
        overall=_summary(outcomes, target_minutes, sum(busy_by_hour.values()), duty),
        by_hour_of_week={h: _summary(by_hour.get(h, ()), target_minutes, busy_by_hour.get(h, 0.0),
                                     duty_by_hour.get(h, 0.0))
                         for h in sorted(set(by_hour) | {h for h, d in duty_by_hour.items() if d})},
        by_area={area: _summary(group, target_minutes, sum(o.service_minutes for o in group if not o.lost), duty)
                 for area, group in sorted(by_area.items())},
        measured_service=len(outcomes) - assumed_calls, assumed_service=assumed_calls,
        assumed_source=assumed.source, outcomes=outcomes)


def _roster_changes(hours: list[tuple[datetime, int]], schedule: Mapping[int, int],
                    origin: datetime) -> list[tuple[float, int]]:
    """(minute, teams on duty) wherever the roster changes: at the hours of the observed days,
    and 0 after each run of consecutive hours (the days between are not worked)."""
    changes: list[tuple[float, int]] = []
    current, previous_end = 0, None
    for start, how in hours:
        if previous_end is not None and start != previous_end and current:
            changes.append(((previous_end - origin).total_seconds() / 60, 0))
            current = 0
        n = schedule.get(how, 0)
        if n != current:
            changes.append(((start - origin).total_seconds() / 60, n))
            current = n
        previous_end = start + HOUR
    if current and previous_end is not None:
        changes.append(((previous_end - origin).total_seconds() / 60, 0))
    return changes


def _summary(outcomes: Sequence[CallOutcome], target: float, busy: float, duty: float) -> Summary:
    waits = np.array([o.wait_minutes for o in outcomes if not o.lost], dtype=float)
    p50, p90 = (float(v) for v in np.percentile(waits, [50, 90])) if waits.size else (None, None)
    lost = sum(o.lost for o in outcomes)
    return Summary(calls=len(outcomes), within_target=sum(o.within(target) for o in outcomes), lost=lost,
                   waited=lost + int((waits > 0).sum()), wait_p50=p50, wait_p90=p90,
                   busy_team_minutes=busy, duty_team_minutes=duty)
