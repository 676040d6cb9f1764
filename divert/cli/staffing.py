"""``divert staffing``: alternative responders needed per hour of the week (Erlang C)."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from divert.exceptions import ConfigError

# minutes a team is busy per call when the city's data cannot tell (travel, on scene, wrap-up);
# an assumption to replace with the team's own figure (--service-minutes)
DEFAULT_SERVICE_MINUTES = {"crisis": 60.0, "navigator": 45.0, "co_response": 60.0}


@click.command("staffing")
@click.option("--city", required=True, help="the agency (city slug)")
@click.option("--route", type=click.Choice(sorted(DEFAULT_SERVICE_MINUTES)), default="crisis", show_default=True)
@click.option("--target-minutes", type=float, default=15.0, show_default=True,
              help="a responder should be on the way within this many minutes")
@click.option("--target-share", type=float, default=0.8, show_default=True,
              help="share of calls that must meet the target")
@click.option("--service-minutes", type=float,
              help="minutes a responder is busy per call (default: crisis 60, navigator 45, co_response 60)")
@click.option("--travel-minutes", type=float, default=0.0, show_default=True,
              help="travel time counted against the target")
@click.option("--police-minutes", type=float,
              help="police unit-minutes per such call, when the city's data has no arrival/clear times")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="write the 168 hours as CSV")
def command(city, route, target_minutes, target_share, service_minutes, travel_minutes, police_minutes, output) -> None:
    """Responders needed per hour of week so that TARGET-SHARE of the eligible calls get one within
    TARGET-MINUTES, and the police unit-hours those calls take today (freed if diverted).

    Demand is the calls the policy routes to ROUTE, per hour of week, averaged over the days the
    city published (sampled cities: per day with data).
    """
    from consumers.db.connection import query
    from consumers.db.sources.staffing import eligible_demand
    from divert.staffing import DAYS, staffing_plan

    service = service_minutes or DEFAULT_SERVICE_MINUTES[route]
    if not 0 < target_share < 1:
        raise ConfigError("--target-share must be between 0 and 1 (e.g. 0.8)")
    arrivals, measured_police, days, version = query(eligible_demand, city, route)
    police = police_minutes if police_minutes is not None else measured_police
    plan = staffing_plan(arrivals, service_minutes=service, target_minutes=target_minutes,
                         target_share=target_share, travel_minutes=travel_minutes,
                         police_minutes_per_call=police)
    click.echo(f"{city}, route {route}, policy {version}: {sum(arrivals.values()) * 1:.1f} eligible calls per "
               f"average week ({days} days with data); {service:g} min per call"
               f"{'' if service_minutes else ' (assumed default)'}; target {target_share:.0%} within "
               f"{target_minutes:g} min")
    click.echo("\nresponders needed (rows: day, columns: hour 00..23)")
    click.echo("      " + " ".join(f"{h:02d}" for h in range(24)))
    for d, day in enumerate(DAYS):
        click.echo(f"{day:5} " + " ".join(f"{plan[d * 24 + h].responders:2d}" for h in range(24)))
    hours = sum(p.responders for p in plan)
    click.echo(f"\nresponder-hours per week: {hours}; peak {max(p.responders for p in plan)} at "
               f"{max(plan, key=lambda p: p.responders).label}")
    if police is None:
        click.echo("police unit-hours freed: unknown — this city's data has no arrival/clear times; "
                   "pass --police-minutes")
    else:
        freed = sum(p.police_unit_hours_freed for p in plan)
        source = "measured" if police_minutes is None else "given"
        click.echo(f"police unit-hours freed per week: {freed:.1f} ({police:.1f} unit-minutes per call, {source})")
    if output:
        with output.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["hour_of_week", "label", "eligible_calls_per_hour", "responders", "service_level",
                        "police_unit_hours_freed", "policy_version"])
            for p in plan:
                w.writerow([p.hour_of_week, p.label, round(p.arrivals_per_hour, 4), p.responders,
                            round(p.service_level, 4),
                            "" if p.police_unit_hours_freed is None else round(p.police_unit_hours_freed, 4), version])
        click.echo(f"written: {output}")
