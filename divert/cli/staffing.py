"""``divert staffing``: teams of the alternative needed, and when: simulated on the city's real arrival
times, with Erlang C's answer for the same inputs beside it, then Erlang C hour by hour."""

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
@click.option("--program", "program_name", help="a stored program (`divert program add`): its route and areas")
@click.option("--hours", multiple=True, help="the program's hours instead of the policy's, e.g. 'mon-sun 07:00-23:00'")
@click.option("--areas", "areas_text", help="the program's areas instead of the policy's, LAYER=A,B")
@click.option("--block-hours", type=click.Choice(["1", "2", "3", "4", "6", "8", "12", "24"]), default="4",
              show_default=True, help="the simulation staffs blocks of this many hours of the week")
@click.option("--from", "start", help="start (ISO date/time, city local time) [default: the first stored call]")
@click.option("--to", "end", help="end, exclusive [default: the last stored call]")
def command(city, route, target_minutes, target_share, service_minutes, travel_minutes, output, program_name, hours,
            areas_text, block_hours, start, end) -> None:
    """Teams needed, and when, so that TARGET-SHARE of the route's eligible calls get one within
    TARGET-MINUTES: simulated on the city's real arrival times (a team busy for the measured
    minutes, else the assumed ones; a call no team starts within the target goes to police), with
    Erlang C's answer for the same calls per hour and minutes beside it; then Erlang C hour by hour,
    what the teams cost and the police time the calls take today.

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
    from divert.periods import local_span

    tz = city_timezone(city)
    start_t, end_t = local_span(start, end, tz)
    sized = None
    if program_name or route in ("crisis", "navigator"):
        sized = simulated(city, program_name, route, hours, areas_text, target_minutes, target_share,
                          service_minutes, travel_minutes, start, end, int(block_hours))
        route = sized[0].program.route
    elif hours or areas_text:
        raise ConfigError(f"--hours and --areas shape a crisis or navigator program, not {route}")
    model = load_model(city) if (costs_dir() / f"{city}.yaml").is_file() else None
    alt = model.alternatives.get(route) if model else None
    demand = query(eligible_demand, city, route, tz, model, start_t, end_t)
    lines = render(city, route, demand, model, alt, target_minutes=target_minutes, target_share=target_share,
                   service_minutes=service_minutes, travel_minutes=travel_minutes, output=output)
    # the simulation's answer first, after the header (what the calls are, the coverage, the team unit)
    at = lines.index("teams needed on duty (rows: day, columns: hour 00..23)") - 1   # its blank line too
    lines[at + 1] = "Erlang C, hour by hour (rows: day, columns: hour 00..23; the plan `divert costs` prices)"
    extra = [""] + (simulation_lines(*sized) if sized else [f"no simulation: {route} is no civilian team's route"])
    for line in lines[:at] + extra + lines[at:]:
        click.echo(line)


def simulated(city, program_name, route, hours, areas_text, target_minutes, target_share, service_minutes,
              travel_minutes, start, end, block_hours):
    """The program's calls (`divert funnel`'s) and the teams the simulation finds for them."""
    from divert.cli.funnel import setup
    from divert.funnel import STAGES, funnel, reaching
    from divert.simulation import AssumedService, sim_calls, teams_for_program

    s = setup(city, program_name, None if program_name else route, hours, areas_text, target_minutes, target_share,
              "team", start, end)
    assumed = AssumedService.flat(service_minutes, f"{service_minutes:g} min per call (given)") if service_minutes \
        else s.assumed
    program = s.program
    if travel_minutes:
        import dataclasses

        if travel_minutes >= program.target_minutes:
            raise ConfigError(f"the target ({program.target_minutes:g} min) leaves no time beyond travel "
                              f"({travel_minutes:g} min)")
        program = dataclasses.replace(program, target_minutes=program.target_minutes - travel_minutes)
    f = funnel(s.calls, program, assumed=assumed, observed_days=s.days, early=s.early)
    calls = sim_calls(reaching(f, s.calls, STAGES[4]))
    if not calls:
        return s, None, f, travel_minutes, block_hours
    return s, teams_for_program(program, calls, assumed=assumed, block_hours=block_hours, observed_days=s.days), \
        f, travel_minutes, block_hours


def simulation_lines(s, sizing, f, travel_minutes, block_hours) -> list[str]:
    from divert.costs.table import wrap
    from divert.labels import area_name, week_hours
    from divert.staffing import DAYS

    p = s.program
    where = "; ".join(f"{layer} {', '.join(area_name(a) for a in sorted(v))}"
                      for layer, v in (p.availability.areas or {}).items()) or "the whole city"
    out = wrap(f"Simulated on the real arrival times: {s.name}, {where}, {week_hours(p.availability.hours)}, "
               f"{len(s.days):,} days with calls timed to the second.")
    if sizing is None:
        return out + wrap("no eligible call of the program is timed to the second: nothing to simulate")
    sim, blocks, span = sizing.simulation, sizing.blocks, block_hours
    columns = list(range(0, 24, span))
    out += [""]

    def block(d: int, h: int):
        hs = {d * 24 + h + i for i in range(span)}
        return next((b for b in blocks if hs & set(b.hours)), None)

    if len(columns) * 6 + 6 <= 110:
        out.append(f"teams needed, simulated / Erlang C (rows: day, columns: {span} h from the hour shown; "
                   "· = not a program hour)")
        out.append("      " + "".join(f"{h:02d}h".rjust(6) for h in columns))
        for d, day in enumerate(DAYS):
            cells = [(b := block(d, h)) and f"{b.teams}/{b.erlang_c_teams}" or "·" for h in columns]
            out.append(f"{day:5} " + "".join(c.rjust(6) for c in cells))
    else:
        for title, pick in (("simulated", lambda b: b.teams), ("Erlang C", lambda b: b.erlang_c_teams)):
            out.append(f"teams needed, {title} (rows: day, columns: hour 00..23; · = not a program hour)")
            out.append("      " + " ".join(f"{h:02d}" for h in columns))
            for d, day in enumerate(DAYS):
                out.append(f"{day:5} " + " ".join(f"{pick(b):2d}" if (b := block(d, h)) else " ·" for h in columns))
    o = sim.overall
    th, eh = sizing.team_hours_per_week, sizing.erlang_c_team_hours_per_week
    out += [""] + wrap(
        f"simulated: {th:,} team-hours a week ({th * s.team_size:,} responder-hours); at that roster "
        f"{o.share_within_target:.1%} of {o.calls:,} calls started within {sizing.target_minutes:g} min"
        f"{f' (the target less {travel_minutes:g} min travel)' if travel_minutes else ''}, {o.lost:,} lost to busy "
        f"teams, utilisation {o.utilisation:.0%}. Erlang C for the same calls per hour and "
        f"{sim.mean_service_minutes:.1f} min a call: {eh:,} team-hours a week.")
    differ = [b for b in blocks if b.teams != b.erlang_c_teams]
    if differ:
        shown = sorted(differ, key=lambda b: (-abs(b.teams - b.erlang_c_teams), b.hours[0]))[:6]
        out += wrap(f"they differ in {len(differ)} of {len(blocks)} blocks, e.g. "
                    + "; ".join(f"{b.block}: {b.calls:,} calls, simulated {b.teams} "
                                f"({_pct(b.share_within_target)} within target), Erlang C {b.erlang_c_teams} "
                                f"({b.erlang_c_share:.0%} at {b.teams})" for b in shown) + ".")
    out += wrap("The simulation replays the real arrivals, clustered by hour and day, and sends a call no team "
                "starts within the target to police; Erlang C assumes Poisson arrivals at the block's average rate, "
                "exponential service and no call lost.")
    if sim.assumed_service:
        out += wrap(f"Service minutes ASSUMED for {sim.assumed_service:,} of {o.calls:,} calls: {sim.assumed_source}.")
    return out


def _pct(x) -> str:
    return "—" if x is None else f"{x:.0%}"


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
