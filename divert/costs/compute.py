"""Price police time per call group, and what an alternative would cost to take the eligible volume.

Police unit-hours of a call: (cleared_at − arrived_at) × units where the city recorded both
times (*measured*), else the model's assumed unit-minutes for the call's category (*assumed*,
low / central / high). Dollars: hours × the loaded unit-hour rate (low × low, central × central,
high × high), so the range carries both the time and the price assumptions.

The alternative: the eligible calls of a route per hour of the week (averaged over the weeks
with data) go through the Erlang C model (:mod:`divert.staffing`); the teams on duty to answer
``target_share`` of them within ``target_minutes``, times the team-hour cost, over the window.
A staffed team costs its idle hours too, which is why the alternative is priced by staffing,
not per call (unless the model gives a cost per call).

>>> from divert.costs.model import load_model
>>> m = load_model("seattle")
>>> g = [CallGroup("crisis", "WELFARE", "911", True, True, "crisis", calls=10, timed_calls=0,
...                measured_unit_minutes=0.0, policy_version="p1")]
>>> p = price(g, m)[0]
>>> p.hours.rounded(2), p.assumed_calls
(Range(low=5.4, central=9.18, high=13.77), 10)
>>> p.cost.rounded(0)
Range(low=424.0, central=857.0, high=1809.0)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from divert.costs.model import STAGES, ZERO, Alternative, CostModel, Range


@dataclass(frozen=True)
class CallGroup:
    """Stored calls sharing a route, APCO code, source and eligibility (one query row)."""

    route: str
    apco_code: str | None
    source: str
    eligible_initial: bool
    eligible: bool
    initial_route: str           # the policy's route for the initial type, before disqualifiers
    calls: int
    timed_calls: int             # calls with arrived_at and cleared_at (cleared >= arrived)
    measured_unit_minutes: float  # sum over the timed calls of (cleared − arrived) × units
    policy_version: str


@dataclass(frozen=True)
class PricedGroup:
    group: CallGroup
    category: str
    hours: Range
    cost: Range
    assumed_calls: int


def price(groups: Iterable[CallGroup], model: CostModel) -> list[PricedGroup]:
    rate = model.police_unit_hour.rate
    out = []
    for g in groups:
        assumed = g.calls - g.timed_calls
        per_call = model.on_scene.minutes(g.apco_code, officer_initiated=g.source == "officer_initiated")
        hours = Range.flat(g.measured_unit_minutes / 60) + per_call * (assumed / 60)
        out.append(PricedGroup(g, model.on_scene.category(g.apco_code), hours, hours * rate, assumed))
    return out


@dataclass
class CostLine:
    """Police time and cost of one group of calls (a route or a category) at one stage."""

    stage: str                    # all | eligible_initial | eligible
    key: str                      # route, or APCO code
    label: str = ""
    calls: int = 0
    timed_calls: int = 0
    assumed_calls: int = 0
    hours: Range = ZERO
    cost: Range = ZERO
    policy_versions: set[str] = field(default_factory=set)

    def add(self, p: PricedGroup) -> None:
        self.calls += p.group.calls
        self.timed_calls += p.group.timed_calls
        self.assumed_calls += p.assumed_calls
        self.hours = self.hours + p.hours
        self.cost = self.cost + p.cost
        self.policy_versions.add(p.group.policy_version)

    @property
    def basis(self) -> str:
        """measured, assumed or mixed: where the hours come from."""
        if self.calls == 0:
            return "none"
        if self.assumed_calls == 0:
            return "measured"
        return "assumed" if self.timed_calls == 0 else "mixed"


def in_stage(g: CallGroup, stage: str) -> bool:
    return stage == "all" or (stage == "eligible_initial" and g.eligible_initial) or \
        (stage == "eligible" and g.eligible)


def stage_route(g: CallGroup, stage: str) -> str:
    """The route a call counts under at a stage: the initial route when eligibility is the
    initial type's (what dispatch knew), the route after disqualifiers otherwise."""
    return g.initial_route if stage == "eligible_initial" else g.route


def by_route(priced: Sequence[PricedGroup]) -> list[CostLine]:
    lines: dict[tuple[str, str], CostLine] = {}
    for stage in STAGES:
        for p in priced:
            if in_stage(p.group, stage):
                key = (stage, stage_route(p.group, stage))
                lines.setdefault(key, CostLine(stage, key[1], key[1])).add(p)
    return sorted(lines.values(), key=lambda line: (STAGES.index(line.stage), -line.hours.central, line.key))


def by_category(priced: Sequence[PricedGroup], descriptions: Mapping[str, str] | None = None) -> list[CostLine]:
    """One line per APCO code (all calls), with the eligible share kept beside it."""
    lines: dict[tuple[str, str], CostLine] = {}
    for stage in STAGES:
        for p in priced:
            if in_stage(p.group, stage):
                code = p.group.apco_code or "unmapped"
                label = (descriptions or {}).get(code, "") or p.category
                lines.setdefault((stage, code), CostLine(stage, code, label)).add(p)
    return sorted(lines.values(), key=lambda line: (STAGES.index(line.stage), -line.hours.central, line.key))


@dataclass(frozen=True)
class AlternativeEstimate:
    """What teams of the alternative would cost to take one route's eligible volume over the window.

    The unit is the model's team (``alternative.responders_per_team`` people): the Erlang C
    servers, the team-hours on duty and the cost per team-hour all count teams."""

    stage: str
    route: str
    alternative: Alternative
    calls: int
    weeks: float                  # weeks with data: what every per-week figure divides by
    calls_per_week: float         # eligible community calls per week with data
    team_hours_per_week: int      # sum over the 168 hours of the teams needed (Erlang C)
    peak_teams: int
    cost: Range                   # over the weeks with data
    police_hours_freed: Range
    police_cost_freed: Range
    withheld: str | None = None   # why the cost is not set against the police time (coverage, volume)

    @property
    def responder_hours_per_week(self) -> int:
        return self.team_hours_per_week * self.alternative.responders_per_team

    @property
    def net(self) -> Range:
        """Police cost freed minus the alternative's cost (positive: the alternative costs less);
        its low reads the least police time freed against the dearest team."""
        return self.police_cost_freed - self.cost


def alternative_estimates(lines: Sequence[CostLine], arrivals: Mapping[tuple[str, str], Mapping[int, float]],
                          weeks: float, model: CostModel, coverage=None) -> list[AlternativeEstimate]:
    """For each eligible stage and route with an alternative in the model: staffing and cost.

    ``arrivals[(stage, route)]`` = eligible calls per hour of week (0 = Monday 00:00 local),
    averaged over the weeks with data; ``weeks`` = days with data ÷ 7. ``coverage``
    (:class:`divert.coverage.Coverage`) withholds the comparison a partial extract cannot support.
    """
    from divert.coverage import withheld_alternative
    from divert.staffing import staffing_plan

    out = []
    for line in lines:
        if line.stage == "all" or line.key not in model.alternatives:
            continue
        alt = model.alternatives[line.key]
        rate = arrivals.get((line.stage, line.key), {})
        plan = staffing_plan(rate, service_minutes=alt.service_minutes, target_minutes=alt.target_minutes,
                             target_share=alt.target_share)
        team_hours = sum(p.teams for p in plan)
        if alt.cost_per_call is not None:
            cost = alt.cost_per_call * line.calls
        else:
            cost = alt.cost_per_hour * (team_hours * weeks)
        per_week = sum(rate.values())
        out.append(AlternativeEstimate(
            line.stage, line.key, alt, line.calls, weeks, per_week, team_hours,
            max((p.teams for p in plan), default=0), cost, line.hours, line.cost,
            withheld_alternative(coverage, per_week)))
    return out


def weekly_arrivals(rows: Iterable[tuple[str, str, int, float]]) -> dict[tuple[str, str], dict[int, float]]:
    """(stage, route, hour_of_week, calls per such hour on average) rows → nested mapping."""
    out: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for stage, route, hour, rate in rows:
        out[(stage, route)][hour] = out[(stage, route)].get(hour, 0.0) + rate
    return dict(out)
