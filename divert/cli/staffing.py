"""``divert staffing``: teams of the alternative needed per hour of the week (Erlang C)."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from divert.exceptions import ConfigError

# minutes a team is busy per call when the city has no cost model to say (travel, on scene,
# wrap-up); an assumption to replace with the team's own figure (--service-minutes)
DEFAULT_SERVICE_MINUTES = {"crisis": 60.0, "navigator": 45.0, "co_response": 60.0}


@click.command("staffing")
@click.option("--city", required=True, help="the agency (city slug)")
@click.option("--route", type=click.Choice(sorted(DEFAULT_SERVICE_MINUTES)), default="crisis", show_default=True)
@click.option("--target-minutes", type=float,
              help="a team should be on the way within this many minutes [default: the cost model's, else 15]")
@click.option("--target-share", type=float,
              help="share of calls that must meet the target [default: the cost model's, else 0.8]")
@click.option("--service-minutes", type=float,
              help="minutes a team is busy per call [default: the cost model's, else crisis 60, navigator 45, "
                   "co_response 60]")
@click.option("--travel-minutes", type=float, default=0.0, show_default=True,
              help="travel time counted against the target")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="write the 168 hours as CSV")
def command(city, route, target_minutes, target_share, service_minutes, travel_minutes, output) -> None:
    """Teams needed per hour of week so that TARGET-SHARE of the route's eligible calls get one
    within TARGET-MINUTES; what the teams cost and the police time the calls take today.

    The unit is the cost model's team (reference/costs/<city>.yaml, `responders_per_team`), the
    same one `divert costs` and `divert report` price. Demand is the route's eligible calls per
    hour of week, averaged over the days the city published (sampled cities: per day with data).
    """
    from consumers.db.connection import query
    from consumers.db.sources.staffing import eligible_demand
    from divert.costs.model import costs_dir, load_model
    from divert.periods import city_timezone

    if target_share is not None and not 0 < target_share < 1:
        raise ConfigError("--target-share must be between 0 and 1 (e.g. 0.8)")
    tz = city_timezone(city)
    model = load_model(city) if (costs_dir() / f"{city}.yaml").is_file() else None
    alt = model.alternatives.get(route) if model else None
    demand = query(eligible_demand, city, route, tz, model)
    for line in render(city, route, demand, model, alt, target_minutes=target_minutes, target_share=target_share,
                       service_minutes=service_minutes, travel_minutes=travel_minutes, output=output):
        click.echo(line)


def render(city, route, demand, model, alt, *, target_minutes, target_share, service_minutes, travel_minutes,
           output=None) -> list[str]:
    from divert.costs.table import hours as hours_text
    from divert.costs.table import span, wrap
    from divert.coverage import plural, withheld_alternative
    from divert.staffing import DAYS, peak, staffing_plan, team_hours

    given = {"service": service_minutes, "target": target_minutes, "share": target_share}
    service = service_minutes or (alt.service_minutes if alt else DEFAULT_SERVICE_MINUTES[route])
    target_minutes = target_minutes or (alt.target_minutes if alt else 15.0)
    target_share = target_share or (alt.target_share if alt else 0.8)
    size = alt.responders_per_team if alt else 1
    police_minutes = (demand.police_hours.central * 60 / demand.calls) if demand.police_hours and demand.calls \
        else demand.measured_minutes
    plan = staffing_plan(demand.arrivals, service_minutes=service, target_minutes=target_minutes,
                         target_share=target_share, travel_minutes=travel_minutes,
                         police_minutes_per_call=police_minutes)
    out: list[str] = []

    def p(text: str = "") -> None:
        out.extend(wrap(text) if text else [""])

    p(f"{city}, route {route}, policy {demand.policy_versions}: {demand.calls:,} eligible calls, "
      f"{demand.calls_per_week:,.1f} a week over the {demand.weeks:,.1f} weeks with data ({demand.days:,} days)")
    for note in demand.coverage.notes():
        p(note)
    source = "given" if given["service"] else ("cost model" if alt else "assumed default")
    team = (f"{alt.name}; a team is {size} {plural(size, 'person', 'people')} (cost model {model.version})"
            if alt else f"no cost model prices a {route} team for {city}: a team is 1 person")
    p(f"{team}; {service:g} min a call ({source}); target {target_share:.0%} within {target_minutes:g} min")
    p()
    p("teams needed on duty (rows: day, columns: hour 00..23)")
    out.append("      " + " ".join(f"{h:02d}" for h in range(24)))
    for d, day in enumerate(DAYS):
        out.append(f"{day:5} " + " ".join(f"{plan[d * 24 + h].teams:2d}" for h in range(24)))
    p()
    busiest = peak(plan)
    hours = team_hours(plan)
    p(f"team-hours a week: {hours:,} ({hours * size:,} responder-hours, teams of {size}); peak "
      f"{busiest.teams} {plural(busiest.teams, 'team')} at {busiest.label}")
    withheld = withheld_alternative(demand.coverage, demand.calls_per_week)
    weeks = demand.weeks
    if demand.police_hours is not None and weeks:
        p(f"police time these calls take a week: {hours_text(demand.police_hours * (1 / weeks), 1)}, "
          f"{span(demand.police_cost * (1 / weeks))} (priced as `divert costs` prices them)")
    elif demand.measured_minutes is not None:
        p(f"police time these calls take a week: {demand.calls_per_week * demand.measured_minutes / 60:,.1f} h "
          f"({demand.measured_minutes:.1f} unit-minutes per call, measured)")
    else:
        p("police time these calls take: unknown (no cost model and no arrival/clear times)")
    rate = span(alt.cost_per_hour, lambda x: f"${x:,.2f}") if alt and alt.cost_per_hour else ""
    if alt is None or alt.cost_per_hour is None:
        p("team cost: not priced (the cost model gives no cost per team-hour for this route)")
    elif withheld:
        p(f"team cost: NOT PRICED against the police time: {withheld}.")
    elif any(given.values()) and (service, target_minutes, target_share) != (
            alt.service_minutes, alt.target_minutes, alt.target_share):
        p(f"team cost a week: {span(alt.cost_per_hour * hours)} at {rate} a team-hour "
          "(this plan's targets differ from the cost model's: `divert costs` prices the model's)")
    else:
        p(f"team cost a week: {span(alt.cost_per_hour * hours)} at {rate} a team-hour "
          f"({model.version}; `divert costs` prices the same team-hours)")
    if output:
        with output.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["hour_of_week", "label", "eligible_calls_per_hour", "teams", "responders_per_team",
                        "service_level", "police_unit_hours", "policy_version"])
            for h in plan:
                w.writerow([h.hour_of_week, h.label, round(h.arrivals_per_hour, 4), h.teams, size,
                            round(h.service_level, 4),
                            "" if h.police_unit_hours_freed is None else round(h.police_unit_hours_freed, 4),
                            demand.policy_versions])
        p(f"written: {output}")
    return out
