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
    """What ``teams`` teams on duty at every hour would absorb of one route's eligible calls
    (Erlang C). A team is the cost model's team (``responders_per_team`` people); every per-week
    figure is over the weeks with data."""

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
    responders_per_team: int = 1
    teams_needed: int = 0                # teams on duty at the busiest hour to reach the target share
    target_share: float = 0.8
    weeks: float = 0.0
    withheld: str | None = None          # why the team is not set against the police time

    @property
    def out_of_reach(self) -> bool:
        """The proposed teams reach fewer calls within the target than the target share."""
        return self.teams < self.teams_needed

    @property
    def team_hours_per_week(self) -> int:
        return self.teams * 168


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
    evaluation_note: str = ""            # why the program could not be evaluated (the data's span)
    program_name: str = ""
    funnel: object | None = None         # divert.funnel.Funnel of the program (--program)
    gaps: object | None = None           # divert.funnel.Gaps of that funnel
    funnel_erlang_c: float | None = None  # Erlang C's share within target for the funnel's inputs
    team_unit: str = ""                  # what a team of the funnel's program is
    reconciliation: object | None = None  # divert.reconcile.Reconciliation (initial → final type)

    @property
    def policy_versions(self) -> list[str]:
        return self.costs.policy_versions


def survey_layers(city: str, layer: str | None):
    """Community-survey layers for the map, and a sentence for the reader about residents' views.

    No survey is drawn on the map yet: the sentence names the city's surveys (``divert survey
    estimate`` reads them) or says that none is available.
    """
    from divert.evaluation.report import display_name
    from divert.surveys.mapping import load_survey_mapping, surveys_for

    titles = [load_survey_mapping(n)[1].title or display_name(n) for n in surveys_for(city)]
    if not titles:
        return [], f"no community survey of {display_name(city)} is available to set beside these figures."
    return [], (f"{'; '.join(titles)} — published separately; not drawn on this map.")


def team_absorption(costs: CostReport, arrivals, teams: int, model: CostModel) -> list[TeamAbsorption]:
    """``teams`` teams of each eligible route's alternative on duty at every hour: the calls they reach
    within the target, the teams the target needs, and what they cost against the police time."""
    from divert.coverage import withheld_alternative
    from divert.staffing import answered_in_target, peak, staffing_plan

    out = []
    for line in costs.routes:
        if line.stage != "eligible" or line.key not in model.alternatives:
            continue
        alt = model.alternatives[line.key]
        rate = arrivals.get(("eligible", line.key), {})
        per_week = sum(rate.values())
        answered = answered_in_target(rate, teams, service_minutes=alt.service_minutes,
                                      target_minutes=alt.target_minutes)
        plan = staffing_plan(rate, service_minutes=alt.service_minutes, target_minutes=alt.target_minutes,
                             target_share=alt.target_share)
        hours_per_call = line.hours.central / line.calls if line.calls else 0
        cost_per_hour = line.cost.central / line.hours.central if line.hours.central else 0
        team_cost = (alt.cost_per_hour.central * teams * 168) if alt.cost_per_hour else \
            (alt.cost_per_call.central * answered if alt.cost_per_call else math.nan)
        out.append(TeamAbsorption(line.key, teams, per_week, answered, answered / per_week if per_week else 0,
                                  answered * hours_per_call, answered * hours_per_call * cost_per_hour,
                                  team_cost, alt.target_minutes, alt.service_minutes, alt.responders_per_team,
                                  peak(plan).teams, alt.target_share, costs.weeks,
                                  withheld_alternative(costs.coverage, per_week)))
    return out
