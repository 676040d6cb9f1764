"""From community calls to calls served: a program's funnel, with the reason for every drop.

Stages, each a subset of the one before:

    community calls           every call but officer-initiated events
    eligible by initial type  the policy routes the initial type to the program's route
    after disqualifiers       no disqualifier (weapon, violence, injury, priority, too little
                              information) applied
    inside program hours      the program's hours of week, local time (divert.policy.Availability)
    inside program areas      the program's areas
    servable by its teams     a team started it within the target, in the simulation of the
                              program's teams over these calls' real arrival times
    served                    the city's data marks an alternative response (dispositions naming
                              it); 'not measured' when the city's data names none

The first three stages read the classification (``eligible_initial`` and the classifier's own
guard and disqualifier reasons, read with divert.classify's helpers); hours and areas are the program's, so
calls classified under a policy with other hours are placed by the program's. Every call that
leaves is an :class:`Exit` with its stage, reason, hour of week and area: the coverage gaps.

Most calls leave at the first two stages on what is stored alone: officer-initiated events, and
community calls whose initial type the program's policy routes elsewhere. A source may count those
in the database (:class:`Early`, see :func:`reach`) and pass only the rest one by one: the stages,
reasons and breakdowns are the same, and a whole city's history fits in memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from divert.classify import GUARD, disqualifier_names, reason_details
from divert.exceptions import ConfigError
from divert.policy import Availability, Policy
from divert.simulation.calls import AssumedService, sim_calls
from divert.simulation.engine import Simulation, hour_of_week, simulate
from divert.simulation.program import Program
from schemas.records import ClassifiedCall

STAGES = ("community calls", "eligible by initial type", "after disqualifiers", "inside program hours",
          "inside program areas", "servable by its teams", "served")
Basis = Literal["counted", "simulated", "measured", "not measured"]


@dataclass(frozen=True)
class Stage:
    name: str
    count: int | None                  # None: not measured
    dropped: dict[str, int]            # reason → calls of the previous stage that left here
    basis: Basis = "counted"


@dataclass(frozen=True)
class Exit:
    """A call that left the funnel: where, why, and when and where it arrived."""

    incident_id: str
    stage: str
    reason: str
    apco_code: str | None
    hour_of_week: int | None           # None: the time is known to the day only
    area: str | None                   # the program's area layer value (None: no layer)


@dataclass(frozen=True)
class EarlyType:
    """Calls counted in the database that leave at the first two stages: one initial code."""

    officer_initiated: bool
    apco_code: str | None
    policy_version: str
    calls: int


@dataclass(frozen=True)
class EarlyGroup:
    """The same calls by area (of the funnel's layer) and local day, for the breakdowns."""

    officer_initiated: bool
    area: str | None
    day: date
    calls: int


@dataclass(frozen=True)
class Early:
    """Calls that never reach the program's route, counted rather than read (see :func:`reach`)."""

    by_type: tuple[EarlyType, ...] = ()
    by_area_day: tuple[EarlyGroup, ...] = ()

    @property
    def calls(self) -> int:
        return sum(t.calls for t in self.by_type)


@dataclass(frozen=True)
class Reach:
    """Which initial codes reach a program's route under its policy: ``codes`` when the policy's
    default route is another, else every code but ``others`` (and a call with no code)."""

    codes: frozenset[str]
    others: frozenset[str]
    default_reaches: bool


def reach(program: Program) -> Reach:
    """The codes whose calls may stay past 'eligible by initial type'; every other community call
    leaves there, whatever else is stored about it (:func:`_initial_drop`)."""
    routes = program.policy.routes
    return Reach(frozenset(c for c, r in routes.items() if r == program.route),
                 frozenset(c for c, r in routes.items() if r != program.route),
                 program.policy.default_route == program.route)


@dataclass(frozen=True)
class Funnel:
    program: Program
    records: int                       # classified calls given, officer-initiated included
    stages: tuple[Stage, ...]
    exits: tuple[Exit, ...] = field(repr=False)
    simulation: Simulation | None      # the servable stage's run (None: no call reached it)
    notes: tuple[str, ...] = ()
    area_layer: str | None = None      # the layer exits and the simulation are broken down by
    early: Early = field(default=Early(), repr=False)   # calls counted, not given one by one

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)


@dataclass(frozen=True)
class StoredProgram:
    """What a funnel reads of a program recorded with `divert program add`."""

    name: str
    agency: str
    layer: str
    areas: tuple[str, ...]
    routes: tuple[str, ...]


def program_for(policy: Policy, city: str, route: str, *, teams: int, target_minutes: float, target_share: float,
                hours: frozenset[int] | None = None, areas: dict[str, frozenset[str]] | None = None) -> Program:
    """A program of ``route`` in ``city``: the policy's availability for the route, with the hours
    and areas given here in its place (``divert funnel --hours``, a stored program's areas)."""
    if city not in policy.cities:
        raise ConfigError(f"policy {policy.version} has no city {city!r} (cities: {', '.join(sorted(policy.cities))})")
    base = policy.city(city).availability.get(route) or Availability()
    override = None
    if hours is not None or areas is not None:
        override = Availability(hours=base.hours if hours is None else hours,
                                areas=base.areas if areas is None else areas, fallback=base.fallback)
    return Program(policy, city, route, teams=teams, target_minutes=target_minutes, target_share=target_share,
                   availability_override=override)


def civilian_route(routes: Collection[str], name: str) -> str:
    """The civilian route a stored program takes (crisis before navigator)."""
    from schemas.records import CIVILIAN_ROUTES

    route = next((r for r in ("crisis", "navigator") if r in routes and r in CIVILIAN_ROUTES), None)
    if route is None:
        raise ConfigError(f"program {name!r} takes no civilian route (routes: {', '.join(routes) or 'none'}): "
                          "a funnel needs crisis or navigator")
    return route


def _initial_drop(c: ClassifiedCall, program: Program) -> str | None:
    """Why the initial type does not reach the program's route (None: it does)."""
    base = program.policy.route_for(c.apco_code)
    if c.eligible_initial and base == program.route:
        return None
    if c.apco_code is None:
        return f"type not mapped by the crosswalk → {base}"
    if base != program.route:
        return f"initial type → {base}"
    if reason_details(c.reasons, GUARD):
        return f"type reads as violent (guard) → {c.route}"
    return f"not eligible on the initial type under policy {c.policy_version}"


def _disqualifiers(c: ClassifiedCall) -> str | None:
    """The disqualifiers that applied, as the classifier named them ('weapon mentioned in type')."""
    return "; ".join(disqualifier_names(c.reasons)) or None


def _early_reason(apco_code: str | None, program: Program) -> str:
    base = program.policy.route_for(apco_code)
    return f"type not mapped by the crosswalk → {base}" if apco_code is None else f"initial type → {base}"


def funnel(calls: Iterable[ClassifiedCall], program: Program, *, assumed: AssumedService,
           alternative_dispositions: Collection[str] | None = None, area_layer: str | None = None,
           observed_days: Collection[date] | None = None, early: Early | None = None) -> Funnel:
    """The program's funnel over ``calls`` (one city, one period: the caller chooses them).

    ``early``: the window's other calls, counted in the database: officer-initiated events and
    community calls whose initial code does not :func:`reach` the program's route (``calls`` then
    holds only the rest). Its by-area counts must be by ``area_layer``.

    ``assumed``: service minutes where the city measured none. ``alternative_dispositions``: the
    dispositions that mark an alternative response in the city's data (None: not measured).
    ``area_layer``: the layer exits and the simulation are broken down by (default: the
    program's). ``observed_days``: the local dates the city published (default: the calls' dates).
    """
    calls = list(calls)
    early = early or Early()
    tz, availability = program.timezone, program.availability
    layer = area_layer or program.area_layer
    exits: list[Exit] = []

    def leave(c: ClassifiedCall, stage: str, reason: str) -> None:
        how = hour_of_week(c.call.received_at, tz) if c.call.time_precision == "second" else None
        exits.append(Exit(c.call.incident_id, stage, reason, c.apco_code, how,
                          c.call.areas.get(layer) if layer else None))

    def keep(previous: list[ClassifiedCall], stage: str, why) -> list[ClassifiedCall]:
        kept = []
        for c in previous:
            reason = why(c)
            if reason is None:
                kept.append(c)
            else:
                leave(c, stage, reason)
        return kept

    def outside_hours(c: ClassifiedCall) -> str | None:
        local = c.call.received_at.astimezone(tz)
        if c.call.time_precision == "day":
            return None if availability.in_service(None, local.weekday()) else "outside program hours (day)"
        return None if availability.in_service(local.weekday() * 24 + local.hour) else "outside program hours"

    def outside_areas(c: ClassifiedCall) -> str | None:
        outside = availability.serves(c.call.areas)
        if outside is None:
            return None
        layer = outside.partition("=")[0]
        return f"outside program areas ({outside if c.call.areas.get(layer) else f'no {layer} recorded'})"

    community = keep(calls, STAGES[0], lambda c: "officer-initiated" if c.call.source == "officer_initiated" else None)
    initial = keep(community, STAGES[1], lambda c: _initial_drop(c, program))
    qualified = keep(initial, STAGES[2], _disqualifiers)
    in_hours = keep(qualified, STAGES[3], outside_hours)
    in_areas = keep(in_hours, STAGES[4], outside_areas)

    timed = [c for c in in_areas if c.call.time_precision == "second"]
    simulation = None
    outcome = {}
    if timed:
        simulation = simulate(sim_calls(timed, layer), teams=program.schedule(), target_minutes=program.target_minutes,
                              assumed=assumed, timezone=tz, patience_minutes=program.patience_minutes,
                              discipline=program.discipline, observed_days=observed_days)
        outcome = {o.call.incident_id: o for o in simulation.outcomes}

    def not_servable(c: ClassifiedCall) -> str | None:
        o = outcome.get(c.call.incident_id)
        if o is None:
            return "time known to the day only (not simulated)"
        if o.lost:
            return f"lost: no team free within {simulation.patience_minutes:g} min"
        if not o.within(program.target_minutes):
            return f"a team started it after the {program.target_minutes:g}-min target"
        return None

    servable = keep(in_areas, STAGES[5], not_servable)

    counted: dict[tuple[str, str], int] = Counter()     # (stage, reason) → calls counted in the database
    for t in early.by_type:
        if t.officer_initiated:
            counted[(STAGES[0], "officer-initiated")] += t.calls
        else:
            counted[(STAGES[1], _early_reason(t.apco_code, program))] += t.calls
    early_officer = sum(n for (stage, _), n in counted.items() if stage == STAGES[0])

    def dropped(stage: str) -> dict[str, int]:
        out = Counter(e.reason for e in exits if e.stage == stage)
        for (at, reason), n in counted.items():
            if at == stage:
                out[reason] += n
        return dict(out.most_common())

    notes = []
    versions = Counter(c.policy_version for c in calls if c.policy_version != program.policy.version)
    for t in early.by_type:
        if t.policy_version != program.policy.version:
            versions[t.policy_version] += t.calls
    if versions:
        notes.append(f"{sum(versions.values())} calls were classified under another policy "
                     f"({', '.join(sorted(versions))}) than the program's ({program.policy.version})")
    if simulation is not None and simulation.assumed_service:
        notes.append(f"service minutes assumed for {simulation.assumed_service:,} of {len(simulation.outcomes):,} "
                     f"simulated calls: {simulation.assumed_source}")
    if alternative_dispositions is None:
        served_stage = Stage(STAGES[6], None, {}, "not measured")
        notes.append("served: not measured (the city's data names no disposition marking an alternative response)")
    else:
        marks = {d.upper() for d in alternative_dispositions}

        def unmarked(c: ClassifiedCall) -> str | None:
            if (c.call.disposition or "").upper() in marks:
                return None
            return "not marked as an alternative response" if c.call.disposition else "no disposition recorded"

        served = keep(servable, STAGES[6], unmarked)
        served_stage = Stage(STAGES[6], len(served), dropped(STAGES[6]), "measured")
        elsewhere = sum((c.call.disposition or "").upper() in marks for c in in_areas) - len(served)
        if elsewhere:
            notes.append(f"{elsewhere} calls the data marks as an alternative response were not servable in the simulation")

    counts = (len(community) + early.calls - early_officer, len(initial), len(qualified), len(in_hours),
              len(in_areas), len(servable))
    stages = [Stage(name, n, dropped(name), "simulated" if name == STAGES[5] else "counted")
              for name, n in zip(STAGES[:6], counts, strict=True)]
    return Funnel(program, len(calls) + early.calls, (*stages, served_stage), tuple(exits), simulation,
                  tuple(notes), layer, early)


def reaching(f: Funnel, calls: Iterable[ClassifiedCall], stage: str) -> list[ClassifiedCall]:
    """The ``calls`` of ``f`` that reached ``stage`` (e.g. 'inside program areas': the program's calls)."""
    i = STAGES.index(stage)
    left = {e.incident_id for e in f.exits if STAGES.index(e.stage) <= i}
    return [c for c in calls if c.call.incident_id not in left]


def by_group(f: Funnel, calls: Iterable[ClassifiedCall], key: Callable[[ClassifiedCall], str | None],
             early_key: Callable[[EarlyGroup], str | None] | None = None
             ) -> dict[str | None, tuple[int | None, ...]]:
    """The funnel's stage counts within groups of the same calls (an area, a month): one count per
    stage, the calls of the group that reached it (None where the stage is not measured).
    ``early_key`` groups the calls the funnel counted rather than read (``f.early``) the same way."""
    left = {e.incident_id: STAGES.index(e.stage) for e in f.exits}
    measured = tuple(s.count is not None for s in f.stages)
    counts: dict[str | None, list[int]] = {}
    for c in calls:
        row = counts.setdefault(key(c), [0] * len(STAGES))
        for i in range(left.get(c.call.incident_id, len(STAGES))):
            row[i] += 1
    if f.early.by_area_day and early_key is None:
        raise ValueError("the funnel counted calls in the database: group them too (early_key)")
    for g in f.early.by_area_day:
        row = counts.setdefault(early_key(g), [0] * len(STAGES))
        if not g.officer_initiated:
            row[0] += g.calls
    return {k: tuple(n if measured[i] else None for i, n in enumerate(row)) for k, row in counts.items()}


# where eligible calls (after the disqualifiers) miss the program: the stage they leave at
GAPS = {"outside hours": STAGES[3], "outside areas": STAGES[4], "every team busy": STAGES[5]}


@dataclass(frozen=True)
class Gaps:
    """Eligible calls (after the disqualifiers) the program misses, by hour of week (local) and by
    area of the funnel's layer: outside its hours, outside its areas, or with every team busy (lost,
    or started after the target, in the simulation)."""

    eligible: int
    eligible_by_hour: dict[int, int]
    eligible_by_area: dict[str, int]
    by_hour: dict[str, dict[int, int]]      # gap → hour of week → calls
    by_area: dict[str, dict[str, int]]      # gap → area → calls
    day_only: int                           # eligible calls known to the day only: in no hour

    def total(self, gap: str) -> int:
        return sum(self.by_area[gap].values())


def coverage_gaps(f: Funnel, calls: Iterable[ClassifiedCall]) -> Gaps:
    """The coverage gaps of ``f`` over the ``calls`` it was computed on."""
    tz, layer = f.program.timezone, f.area_layer
    early = {e.incident_id for e in f.exits if STAGES.index(e.stage) < 3}
    eligible = [c for c in calls if c.call.incident_id not in early]
    by_hour: Counter[int] = Counter()
    by_area: Counter[str] = Counter()
    for c in eligible:
        if c.call.time_precision == "second":
            by_hour[hour_of_week(c.call.received_at, tz)] += 1
        by_area[(c.call.areas.get(layer) if layer else None) or "unknown"] += 1
    busy = {STAGES[5]: ("lost: ", "a team started it after")}
    gap_hour = {g: Counter() for g in GAPS}
    gap_area = {g: Counter() for g in GAPS}
    for e in f.exits:
        for g, stage in GAPS.items():
            if e.stage == stage and (stage not in busy or e.reason.startswith(busy[stage])):
                if e.hour_of_week is not None:
                    gap_hour[g][e.hour_of_week] += 1
                gap_area[g][e.area or "unknown"] += 1
    return Gaps(len(eligible), dict(by_hour), dict(by_area), {g: dict(v) for g, v in gap_hour.items()},
                {g: dict(v) for g, v in gap_area.items()},
                sum(c.call.time_precision != "second" for c in eligible))


@dataclass(frozen=True)
class StageRow:
    """One row of a stored funnel (program_funnels): a stage's calls (``reason`` None) or the calls
    that left there for one reason, for the whole program (area and period 'all') or one group."""

    area: str
    period: str
    stage_order: int
    stage: str
    basis: str
    reason: str | None
    calls: int | None


ALL = "all"


def stage_rows(f: Funnel, by_area: dict | None = None, by_period: dict | None = None) -> list[StageRow]:
    """The rows a stored funnel keeps: every stage with its reasons, then the stage counts of each
    area and period group (``by_group``'s output)."""
    out = []
    for i, s in enumerate(f.stages):
        out.append(StageRow(ALL, ALL, i, s.name, s.basis, None, s.count))
        out += [StageRow(ALL, ALL, i, s.name, s.basis, reason, n) for reason, n in s.dropped.items()]
    for groups, as_area in ((by_area or {}, True), (by_period or {}, False)):
        for key, counts in groups.items():
            for i, (s, n) in enumerate(zip(f.stages, counts, strict=True)):
                out.append(StageRow(str(key) if as_area else ALL, ALL if as_area else str(key), i, s.name, s.basis,
                                    None, n))
    return out
