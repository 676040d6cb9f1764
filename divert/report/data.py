"""Gather what the council report shows. Functions take an open asyncpg connection."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from divert.costs.model import CostModel
from divert.costs.table import CostReport


@dataclass(frozen=True)
class BurdenArea:
    area: str
    kind: str | None
    sentence: str
    lat: float | None
    lon: float | None
    enforcement: float
    crime: float


@dataclass(frozen=True)
class TeamAbsorption:
    """What a team of the proposed size would absorb of one route's eligible calls (Erlang C)."""

    route: str
    teams: int
    calls_per_week: float
    answered_in_target_per_week: float   # calls that would get a team within the target
    share_in_target: float
    police_hours_freed_per_week: float
    police_cost_freed_per_week: float
    team_cost_per_week: float
    target_minutes: float
    service_minutes: float


@dataclass
class CouncilData:
    city: str
    timezone: str
    start: datetime
    end: datetime
    demand: pd.DataFrame                 # route x source -> calls
    costs: CostReport
    layer: str | None = None
    burden: list[BurdenArea] = field(default_factory=list)
    burden_note: str = ""
    dissimilarity: float | None = None
    surveys: list = field(default_factory=list)
    survey_note: str = ""
    team: list[TeamAbsorption] = field(default_factory=list)
    evaluation: object | None = None     # divert.evaluation.report.EvaluationResult

    @property
    def policy_versions(self) -> list[str]:
        return self.costs.policy_versions


async def fetch_demand(conn, city: str, start, end) -> pd.DataFrame:
    rows = await conn.fetch(
        "select route, source, count(*) as calls, count(*) filter (where eligible_initial) as eligible_initial, "
        "count(*) filter (where eligible) as eligible from calls where agency = $1 "
        "and received_at >= $2 and received_at <= $3 group by 1, 2", city, start, end)
    return pd.DataFrame([dict(r) for r in rows], columns=["route", "source", "calls", "eligible_initial", "eligible"])


async def fetch_burden(conn, city: str, layer: str, start, end) -> tuple[list[BurdenArea], float | None, str]:
    """Areas ranked by the burden core (divert/burden.py) over area_divergence (migration 003),
    placed at the mean point of their stored calls."""
    from divert.burden import assess, load_population
    from divert.divergence import divergence_by_window

    # 'both': compare only areas with enforcement and crime records (a call extract or a crime
    # source may cover part of the city, as Seattle's does)
    rows = await conn.fetch("select * from area_divergence($1, $2, $3, $4, p_restrict => 'both')", city, layer,
                            start, end + pd.Timedelta(microseconds=1))
    frame = pd.DataFrame([dict(r) for r in rows])
    if not frame.empty:  # areas that name no place are neither ranked nor mapped (nor in the totals)
        from divert.adapters import not_places

        frame = frame[~frame["area"].isin(not_places(city, layer))]
    if frame.empty or frame["crime"].fillna(0).sum() == 0:
        return [], None, (f"No reported crime stored for {city} by {layer} in this window: the burden map "
                          "needs crime reports (`divert crime replay`).")
    (_, d), = divergence_by_window(frame).items()
    var = dict(zip(frame["area"], frame["crime_variance"], strict=False))
    points = {r["area"]: (r["lat"], r["lon"]) for r in await conn.fetch(
        "select areas ->> $2 as area, avg(lat) as lat, avg(lon) as lon from calls where agency = $1 "
        "and lat is not null and areas ? $2 group by 1", city, layer)}
    out = []
    for b in assess(d, population=load_population(city, layer), crime_variance=var):
        lat, lon = points.get(b.area, (None, None))
        out.append(BurdenArea(b.area, b.kind, b.sentence(layer), lat, lon, b.div.enforcement, b.div.crime))
    return out, d.dissimilarity, ""


def survey_layers(city: str, layer: str | None):
    """Community-survey layers for the map, when divert.surveys provides them.

    Hook: divert/surveys/ (being added) is expected to expose ``survey_layers(city, layer)`` returning
    objects with ``name``, ``source`` and ``values`` (area -> score). Until it does, the report says
    no survey is available for the city.
    """
    try:
        from divert import surveys  # noqa: F401
    except ImportError:
        return [], "No community-survey layer: divert.surveys is not installed in this version."
    fn = getattr(surveys, "survey_layers", None)
    if fn is None:
        return [], "No community-survey layer: divert.surveys offers no survey_layers() yet."
    try:
        layers = list(fn(city, layer) or [])
    except Exception as exc:  # a survey problem must not stop the council report; it is reported
        return [], f"Community-survey layer not shown: {exc}"
    return layers, "" if layers else f"No community survey covers {city} ({layer})."


def team_absorption(costs: CostReport, arrivals, teams: int, model: CostModel) -> list[TeamAbsorption]:
    from divert.staffing import service_level

    out = []
    for line in costs.routes:
        if line.stage != "eligible" or line.key not in model.alternatives:
            continue
        alt = model.alternatives[line.key]
        rate = arrivals.get(("eligible", line.key), {})
        per_week = sum(rate.values())
        answered = sum(r * service_level(teams, arrivals_per_hour=r, service_minutes=alt.service_minutes,
                                         target_minutes=alt.target_minutes) for r in rate.values())
        weeks = costs.days_with_data / 7 or 1
        hours_per_call = line.hours.central / line.calls if line.calls else 0
        cost_per_hour = line.cost.central / line.hours.central if line.hours.central else 0
        team_cost = (alt.cost_per_hour.central * teams * 168) if alt.cost_per_hour else \
            (alt.cost_per_call.central * answered if alt.cost_per_call else math.nan)
        del weeks
        out.append(TeamAbsorption(line.key, teams, per_week, answered, answered / per_week if per_week else 0,
                                  answered * hours_per_call, answered * hours_per_call * cost_per_hour,
                                  team_cost, alt.target_minutes, alt.service_minutes))
    return out


async def gather(conn, city: str, *, start=None, end=None, model: CostModel, timezone: str,
                 layer: str | None = None, teams: int = 2, program: str | None = None,
                 outcome: str = "police_calls_eligible", method: str = "did", placebo_runs: int = 10) -> CouncilData:
    from divert.costs.source import build_report, fetch_arrivals

    costs = await build_report(conn, city, start, end, model, timezone)
    demand = await fetch_demand(conn, city, costs.start, costs.end)
    data = CouncilData(city, timezone, costs.start, costs.end, demand, costs, layer)
    arrivals, _ = await fetch_arrivals(conn, city, start, end, timezone)
    data.team = team_absorption(costs, arrivals, teams, model)
    if layer:
        data.burden, data.dissimilarity, data.burden_note = await fetch_burden(conn, city, layer, costs.start, costs.end)
    else:
        data.burden_note = "No area layer chosen for the burden map (--layer)."
    data.surveys, data.survey_note = survey_layers(city, layer)
    if program:  # the same evaluation as `divert evaluate`
        from divert.evaluation.source import evaluate_program

        data.evaluation = await evaluate_program(conn, program, outcome, timezone, method=method,
                                                 placebo_runs=placebo_runs)
    return data
