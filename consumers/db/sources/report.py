"""Gather what the council report shows from the stored calls, crime and programs."""

from __future__ import annotations

import pandas as pd

from consumers.db.sources.costs import build_report, fetch_arrivals
from consumers.db.sources.evaluation import evaluate_program, load_program
from consumers.db.sources.funnel import program_calls, published_days, type_counts
from divert.costs.model import CostModel
from divert.report.data import BurdenArea, CouncilData, survey_layers, team_absorption


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
        return [], None, no_crime_note(city, layer)
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


def no_crime_note(city: str, layer: str) -> str:
    """Why the page cannot compare policing with crime, and what would help only if the city has it."""
    from divert.adapters.crime import available_crime_cities
    from divert.evaluation.report import display_name

    name = display_name(city)
    if city in available_crime_cities():
        return (f"No reported crime of {name} is stored for this period by {layer}, so policing cannot be set "
                f"beside crime here: load the city's crime reports (divert crime load --city {city}) and "
                "run the report again.")
    return (f"{name}'s reported crime is not among the data divert reads, so this page does not compare where "
            "policing and reported crime diverge.")


async def gather(conn, city: str, *, start=None, end=None, model: CostModel, timezone: str,
                 layer: str | None = None, teams: int = 2, program: str | None = None,
                 outcome: str = "police_calls_eligible", method: str = "did", placebo_runs: int = 10,
                 hours: frozenset[int] | None = None) -> CouncilData:
    costs = await build_report(conn, city, start, end, model, timezone)
    demand = await fetch_demand(conn, city, costs.start, costs.end)
    data = CouncilData(city, timezone, costs.start, costs.end, demand, costs, layer)
    arrivals, _ = await fetch_arrivals(conn, city, start, end, timezone)
    data.team = team_absorption(costs, arrivals, teams, model)
    if layer:
        data.burden, data.dissimilarity, data.burden_note = await fetch_burden(conn, city, layer, costs.start, costs.end)
    else:
        data.burden_note = "The stored calls carry no area (beat, district or substation), so no area is compared."
    data.surveys, data.survey_note = survey_layers(city, layer)
    if program:  # the same evaluation as `divert evaluate`
        from divert.evaluation.panel import EvaluationError

        try:
            data.evaluation = await evaluate_program(conn, program, outcome, timezone, method=method,
                                                     placebo_runs=placebo_runs)
        except EvaluationError as exc:   # the page still shows the program's funnel, and says why
            if "no program named" in str(exc) or "has no city" in str(exc):
                raise
            data.evaluation_note = str(exc)
        await program_funnel(conn, data, program, teams=teams, model=model, start=start, end=end, hours=hours)
    from divert.reconcile import reconcile

    rows, _ = await type_counts(conn, city, start, end)
    data.reconciliation = reconcile(rows)
    return data


async def program_funnel(conn, data: CouncilData, name: str, *, teams: int, model: CostModel, start, end,
                         hours: frozenset[int] | None = None) -> None:
    """The program's funnel over the report's window (its areas, ``hours`` or the policy's hours for
    its route, ``teams`` teams on duty), its coverage gaps, and Erlang C's share for the same inputs."""
    from divert.adapters import load_adapter
    from divert.adapters.mapping import alternative_dispositions
    from divert.funnel import civilian_route, coverage_gaps, funnel, program_for, reach
    from divert.policy import load_policy
    from divert.simulation import AssumedService, erlang_c_share

    info = await load_program(conn, name)
    route = civilian_route(info.routes, info.name)
    alt = model.alternatives.get(route)
    program = program_for(load_policy(), data.city, route, teams=teams,
                          target_minutes=alt.target_minutes if alt else 15.0,
                          target_share=alt.target_share if alt else 0.8,
                          hours=hours, areas={info.layer: frozenset(info.areas)})
    assumed = AssumedService.team(alt) if alt else AssumedService.flat(60.0, "60 min per call (divert's default)")
    calls, early = await program_calls(conn, data.city, reach(program), layers=sorted(program.availability.areas or {}),
                                       breakdown=program.area_layer, timezone=data.timezone, start=start, end=end)
    days = await published_days(conn, data.city, data.timezone, start, end)
    f = funnel(calls, program, assumed=assumed, observed_days=days, early=early,
               alternative_dispositions=alternative_dispositions(load_adapter(data.city).mapping))
    data.program_name, data.funnel, data.gaps = info.name, f, coverage_gaps(f, calls)
    data.funnel_erlang_c = erlang_c_share(f.simulation) if f.simulation is not None else None
    size = alt.responders_per_team if alt else 1
    data.team_unit = f"a team is {size} {'person' if size == 1 else 'people'}" + (
        f", cost model {model.version}" if alt else "")


async def burden_layer(conn, city: str) -> str | None:
    """The layer the burden map uses when none is chosen: beat, else district, else substation."""
    have = {r[0] for r in await conn.fetch("select distinct layer from call_areas where agency = $1", city)}
    return next((x for x in ("beat", "district", "substation") if x in have), None)
