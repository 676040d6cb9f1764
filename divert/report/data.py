"""What the council report shows, as records (read by consumers/db/sources/report.py)."""

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
