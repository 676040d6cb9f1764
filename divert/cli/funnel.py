"""``divert funnel``: a program's funnel from community calls to served, with the reason for every
call that drops out, per area and period; the program's teams simulated on the city's real
arrivals, with Erlang C's answer for the same inputs beside it. ``--reconcile``: initial → final
call types across the policy's line."""

from __future__ import annotations

from dataclasses import dataclass

import click

from divert.exceptions import ConfigError

# minutes a team is busy per call when the city has no cost model to say (as `divert staffing`)
DEFAULT_SERVICE_MINUTES = {"crisis": 60.0, "navigator": 45.0}
PERIODS = {"year": "%Y", "month": "%Y-%m", "week": "%G-W%V", "day": "%Y-%m-%d"}
SHORT = ("community", "eligible", "qualified", "in hours", "in areas", "servable", "served")
WIDTH = 110


def program_options(fn):
    """The options that say which program, as `divert funnel` and `divert staffing` take them."""
    options = [
        click.option("--city", required=True, help="the agency (city slug)"),
        click.option("--program", "program_name", help="a stored program (`divert program add`): its route and areas"),
        click.option("--route", type=click.Choice(sorted(DEFAULT_SERVICE_MINUTES)),
                     help="without --program: the route, with the policy's hours and areas for it"),
        click.option("--hours", multiple=True,
                     help="the program's hours instead of the policy's, e.g. 'mon-sun 07:00-23:00' (repeatable)"),
        click.option("--areas", "areas_text", help="the program's areas instead, LAYER=A,B (e.g. substation=EAST)"),
        click.option("--target-minutes", type=float,
                     help="a team should start a call within this many minutes [default: the cost model's, else 15]"),
        click.option("--target-share", type=float,
                     help="share of calls to start within the target [default: the cost model's, else 0.8]"),
        click.option("--service", type=click.Choice(["team", "on-scene"]), default="team", show_default=True,
                     help="minutes assumed where the city measured none: the cost model's team minutes per call "
                          "(travel, on scene, wrap-up) or one unit's on-scene minutes by call category"),
        click.option("--from", "start", help="start (ISO date/time, city local time) [default: the first stored call]"),
        click.option("--to", "end", help="end, exclusive [default: the last stored call]"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@dataclass(frozen=True)
class Setup:
    """A program and the stored calls it is looked at over."""

    city: str
    timezone: str
    program: object                 # divert.simulation.Program
    name: str                       # the stored program's name, or "route <route>"
    calls: list                     # the community calls whose initial type reaches the program's route
    early: object                   # divert.funnel.Early: every other call of the window, counted
    span: tuple                     # the first and the last stored call of the window
    versions: list[str]             # the policy versions that classified them
    days: list
    layers: list[str]
    layer: str | None               # the layer the funnel is broken down by
    assumed: object                 # divert.simulation.AssumedService
    team_size: int
    team_unit: str                  # what a team is, and whose figure
    served_marks: frozenset[str] | None
    window: tuple = (None, None)    # the window asked for, UTC (None: from the first / to the last call)


def setup(city, program_name, route, hours, areas_text, target_minutes, target_share, service, start, end,
          *, teams=1, layer=None) -> Setup:
    """parse → source: the program and its calls (the one place `divert funnel` and `divert staffing`
    read them). Calls that never reach the program's route are counted in the database, not read."""
    from consumers.db.connection import query
    from consumers.db.sources.funnel import (
        area_layers,
        program_calls,
        published_days,
        stored_program,
        window_span,
    )
    from divert.adapters import load_adapter
    from divert.adapters.mapping import alternative_dispositions
    from divert.costs.model import costs_dir, load_model
    from divert.coverage import plural
    from divert.funnel import civilian_route, program_for, reach
    from divert.periods import city_timezone, local_span
    from divert.policy import load_policy, parse_hours
    from divert.simulation import AssumedService

    if bool(program_name) == bool(route):
        raise ConfigError("name the program: --program NAME or --route crisis|navigator (one of them)")
    if target_share is not None and not 0 < target_share < 1:
        raise ConfigError("--target-share must be between 0 and 1 (e.g. 0.8)")
    if target_minutes is not None and target_minutes <= 0:
        raise ConfigError("--target-minutes must be above 0")
    if teams < 1:
        raise ConfigError("--teams must be at least 1")
    tz = city_timezone(city)
    start_t, end_t = local_span(start, end, tz)
    week = parse_hours(list(hours)) if hours else None
    areas = _areas(areas_text) if areas_text else None

    async def read_program(conn):
        info = await stored_program(conn, program_name) if program_name else None
        if info is not None and info.agency != city:
            raise ConfigError(f"program {program_name!r} is a program of {info.agency}, not {city}")
        return info, await area_layers(conn, city)

    info, layers = query(read_program)
    if info is not None:
        route = civilian_route(info.routes, info.name)
        areas = areas if areas is not None else {info.layer: frozenset(info.areas)}
    for area_layer in areas or {}:
        if layers and area_layer not in layers:
            raise ConfigError(f"--areas: {city}'s calls carry no layer {area_layer!r} (layers: {', '.join(layers)})")
    model = load_model(city) if (costs_dir() / f"{city}.yaml").is_file() else None
    alt = model.alternatives.get(route) if model else None
    program = program_for(load_policy(), city, route, teams=teams,
                          target_minutes=target_minutes or (alt.target_minutes if alt else 15.0),
                          target_share=target_share or (alt.target_share if alt else 0.8), hours=week, areas=areas)
    breakdown = _breakdown_layer(city, layers, program, layer)
    needed = sorted({*(program.availability.areas or {}), *([breakdown] if breakdown else [])})

    async def read_calls(conn):
        span = await window_span(conn, city, start_t, end_t)
        if span is None:
            raise ConfigError(f"no stored calls for {city} in this window: load its history first "
                              f"(divert load --city {city})")
        calls, early = await program_calls(conn, city, reach(program), layers=needed, breakdown=breakdown,
                                           timezone=tz, start=start_t, end=end_t)
        return calls, early, span, await published_days(conn, city, tz, start_t, end_t)

    calls, early, span, days = query(read_calls)
    versions = sorted({c.policy_version for c in calls} | {t.policy_version for t in early.by_type})
    if service == "on-scene" and model is not None:
        assumed = AssumedService.on_scene(model)
    elif alt is not None:
        assumed = AssumedService.team(alt)
    else:
        minutes = DEFAULT_SERVICE_MINUTES[route]
        assumed = AssumedService.flat(minutes, f"{minutes:g} min per call (divert's default; no cost model "
                                               f"prices a {route} team for {city})")
    size = alt.responders_per_team if alt else 1
    unit = (f"a team is {size} {plural(size, 'person', 'people')} (cost model {model.version})" if alt
            else "a team is 1 person (no cost model)")
    return Setup(city, tz, program, info.name if info else f"route {route}", calls, early, span, versions, days,
                 layers, breakdown, assumed, size, unit, alternative_dispositions(load_adapter(city).mapping),
                 (start_t, end_t))


def _areas(text: str) -> dict[str, frozenset[str]]:
    layer, _, values = text.partition("=")
    names = frozenset(v.strip() for v in values.split(",") if v.strip())
    if not layer.strip() or not names:
        raise ConfigError(f"--areas {text!r}: expected LAYER=A,B (e.g. substation=EAST)")
    return {layer.strip(): names}


def _breakdown_layer(city: str, layers: list[str], program, layer: str | None) -> str | None:
    """The layer to break the funnel down by: --layer, the program's, else a coarse one the city has."""
    if layer:
        if layers and layer not in layers:
            raise ConfigError(f"--layer: {city}'s calls carry no layer {layer!r} (layers: {', '.join(layers)})")
        return layer
    return program.area_layer or next(
        (x for x in ("substation", "district", "precinct", "sector", "beat") if x in layers), None)


@click.command("funnel")
@program_options
@click.option("--teams", default=2, show_default=True, help="teams on duty at every program hour")
@click.option("--layer", help="break the funnel down by this area layer [default: the program's, else the "
                              "city's substation, district, precinct, sector or beat]")
@click.option("--period", type=click.Choice(["auto", *PERIODS]), default="auto", show_default=True,
              help="break the funnel down by this local period (auto: months, years over 24 months)")
@click.option("--top", default=15, show_default=True, help="areas and reasons shown (the rest are summed)")
@click.option("--reconcile", is_flag=True,
              help="instead: initial → final call types across the policy's line (the city, all routes)")
@click.option("--store", is_flag=True,
              help="also store the funnel (every stage and reason; by area and month) and the city's initial → "
                   "final types, for the program dashboard (tables program_funnels, type_reconciliations)")
def command(city, program_name, route, hours, areas_text, target_minutes, target_share, service, start, end,
            teams, layer, period, top, reconcile, store) -> None:
    """From community calls to calls served, with the reason for every call that drops out: eligible
    on the initial type, after the disqualifiers, inside the program's hours and areas, servable by its
    teams (simulated on the real arrival times: a team starts the call within the target), and served
    where the city's data marks an alternative response. Per area and per period; the coverage gaps
    (eligible calls outside hours, outside areas, or with every team busy) by hour of week."""
    if reconcile and store:
        raise ConfigError("--store stores the program's funnel and the city's initial → final types together: "
                          "leave out --reconcile")
    if reconcile:
        for line in reconcile_lines(city, start, end):
            click.echo(line)
        return
    from divert.funnel import funnel

    s = setup(city, program_name, route, hours, areas_text, target_minutes, target_share, service, start, end,
              teams=teams, layer=layer)
    f = funnel(s.calls, s.program, assumed=s.assumed, alternative_dispositions=s.served_marks, area_layer=s.layer,
               observed_days=s.days, early=s.early)
    for line in render(s, f, period=period, top=top):
        click.echo(line)
    if store:
        click.echo("")
        click.echo(store_lines(s, f))


def simulated_as(s: Setup) -> str:
    """What the stored run was: teams, hours, areas and target (program_funnels.simulated_as)."""
    from divert.labels import area_name, week_hours

    p = s.program
    teams = set(p.schedule().values())
    n = teams.pop() if len(teams) == 1 else None
    where = "; ".join(f"{layer} {', '.join(area_name(a) for a in sorted(v))}"
                      for layer, v in (p.availability.areas or {}).items()) or "the whole city"
    return (f"{'teams vary by hour' if n is None else f'{n} {_teams(n)} on duty'}, {week_hours(p.availability.hours)}, "
            f"{where}; target {p.target_share:.0%} within {p.target_minutes:g} min; {s.team_unit}")


def _teams(n: int) -> str:
    return "team" if n == 1 else "teams"


def store_lines(s: Setup, f) -> str:
    """Store the funnel and the city's reconciliation (one computation, one time); say what was stored."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from consumers.db.connection import query
    from consumers.db.sources.funnel import type_counts
    from consumers.db.stored_funnel import store_funnel, store_reconciliation
    from divert.funnel import by_group, stage_rows
    from divert.reconcile import reconcile

    tz = ZoneInfo(s.timezone)
    layer = f.area_layer
    by_area = by_group(f, s.calls, lambda c: c.call.areas.get(layer) or "unknown",
                       lambda g: g.area or "unknown") if layer else {}      # the codes, as call_areas has them
    by_month = by_group(f, s.calls, lambda c: c.call.received_at.astimezone(tz).strftime("%Y-%m"),
                        lambda g: g.day.strftime("%Y-%m"))
    rows = stage_rows(f, by_area, by_month)
    policy = f.program.policy.version
    version = policy if s.versions == [policy] else f"{policy} (calls classified by {', '.join(s.versions)})"
    at = datetime.now(UTC)

    async def write(conn):
        n = await store_funnel(conn, rows, program=s.name, city=s.city, area_layer=layer, start=s.span[0],
                               end=s.span[1], simulated_as=simulated_as(s), computed_at=at, policy_version=version)
        groups, versions = await type_counts(conn, s.city, *s.window)
        m = await store_reconciliation(conn, reconcile(groups), city=s.city, start=s.window[0] or s.span[0],
                                       end=s.window[1] or s.span[1], computed_at=at, policy_version=", ".join(versions))
        return n, m

    n, m = query(write)
    return (f"stored: {n:,} rows of the funnel (program_funnels, program {s.name!r}) and {m:,} initial → final type "
            f"rows (type_reconciliations), computed at {at:%Y-%m-%d %H:%M:%S} UTC")


def describe(s: Setup, teams_text: str) -> list[str]:
    from divert.costs.table import wrap
    from divert.labels import area_name, local, route_name, week_hours

    p = s.program
    where = "; ".join(f"{layer} {', '.join(area_name(a) for a in sorted(v))}"
                      for layer, v in (p.availability.areas or {}).items()) or "the whole city"
    policies = s.versions
    first, last = (local(t, s.timezone, "%Y-%m-%d") for t in s.span)
    return wrap(f"{s.city}, {s.name}: {route_name(p.route)}, {where}, {week_hours(p.availability.hours)} "
                f"({s.timezone}); {teams_text}; {s.team_unit}; target {p.target_share:.0%} within "
                f"{p.target_minutes:g} min. Calls {first} – {last} (local), {len(s.days):,} days with calls timed "
                f"to the second; policy {p.policy.version} (calls classified by {', '.join(policies)}).")


def render(s: Setup, f, *, period: str = "month", top: int = 15) -> list[str]:
    from divert.costs.table import wrap
    from divert.funnel import STAGES, by_group, coverage_gaps
    from divert.labels import area_name
    from divert.simulation import erlang_c_share

    teams = set(s.program.schedule().values())
    n = teams.pop() if len(teams) == 1 else None
    out = describe(s, "teams vary by hour" if n is None else f"{n} {'team' if n == 1 else 'teams'} on duty")
    out += ["", f"{'stage':34} {'calls':>9} {'of community':>12}  reasons for the calls that left"]
    community = f.stages[0].count or 0
    previous = f.records
    for stage in f.stages:
        n = "not measured" if stage.count is None else f"{stage.count:,}"
        share = "" if stage.count is None or not community else f"{stage.count / community:.1%}"
        basis = {"simulated": " (simulated)", "measured": " (measured)"}.get(stage.basis, "")
        left = previous - stage.count if stage.count is not None else 0
        out.append(f"{stage.name + basis:34} {n:>9} {share:>12}  {'-' if not left else f'{left:,} left:'}")
        reasons = list(stage.dropped.items())
        for reason, k in reasons[:top]:
            out.extend(wrap(f"{k:>7,}  {reason}", " " * 60, " " * 58))
        if len(reasons) > top:
            out.append(" " * 58 + f"{sum(k for _, k in reasons[top:]):>7,}  {len(reasons) - top} other reasons")
        previous = stage.count if stage.count is not None else previous

    def table(title: str, groups: dict, order) -> None:
        out.extend(["", title, f"{'':22}" + "".join(f"{h:>12}" for h in SHORT)])
        keys = sorted(groups, key=order)
        for k in keys[:top]:
            out.append(f"{str(k)[:22]:22}" + "".join(f"{'—' if n is None else f'{n:,}':>12}" for n in groups[k]))
        if len(keys) > top:
            rest = [sum(groups[k][i] or 0 for k in keys[top:]) for i in range(len(STAGES))]
            out.append(f"{f'{len(keys) - top} more':22}" + "".join(f"{n:>12,}" for n in rest))

    layer = f.area_layer
    if layer:
        areas = by_group(f, s.calls, lambda c: area_name(c.call.areas.get(layer) or "unknown"),
                         lambda g: area_name(g.area or "unknown"))
        table(f"by {layer} (calls reaching each stage)", areas, lambda k: (-areas[k][4], -areas[k][0], k))
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(s.timezone)
    fmt = PERIODS["month" if period == "auto" else period]
    periods = by_group(f, s.calls, lambda c: c.call.received_at.astimezone(tz).strftime(fmt),
                       lambda g: g.day.strftime(fmt))
    if period == "auto" and len(periods) > 24:
        period = "year"
        periods = by_group(f, s.calls, lambda c: c.call.received_at.astimezone(tz).strftime("%Y"),
                           lambda g: g.day.strftime("%Y"))
    period = "month" if period == "auto" else period
    fmt = PERIODS[period]
    shown, top = top, max(top, len(periods)) if period in ("year", "month") else top
    table(f"by {period} (local)", periods, lambda k: k)
    top = shown

    out.append("")
    sim = f.simulation
    if sim is None:
        out.append("simulation: no call timed to the second reached the program's teams")
    else:
        o = sim.overall
        erlang = erlang_c_share(sim)
        waits = (f"waits p50 {o.wait_p50:.1f} / p90 {o.wait_p90:.1f} min" if o.wait_p50 is not None
                 else "no call started")
        out += wrap(f"simulation on the real arrival times ({sim.observed_days:,} published days, "
                    f"{sim.discipline}, a call waits {sim.patience_minutes:g} min for a team, then police take it): "
                    f"{o.calls:,} calls, {o.share_within_target:.1%} started within {sim.target_minutes:g} min "
                    f"(Erlang C for the same inputs, where no call goes to police: "
                    f"{'n/a, teams vary by hour' if erlang is None else f'{erlang:.1%}'}); {o.lost:,} lost to "
                    f"busy teams ({o.lost_share:.1%}); {waits}; utilisation {o.utilisation:.0%}; "
                    f"{sim.mean_service_minutes:.1f} min a call on average.")
        gaps = coverage_gaps(f, s.calls)
        if gaps.eligible:
            parts = []
            for g, hours in gaps.by_hour.items():
                busiest = max(hours.items(), key=lambda kv: kv[1], default=None)
                peak = f", most at {_how(busiest[0])} ({busiest[1]:,})" if busiest else ""
                parts.append(f"{g} {gaps.total(g):,} ({gaps.total(g) / gaps.eligible:.0%}{peak})")
            out += wrap(f"coverage gaps among the {gaps.eligible:,} eligible calls (after the disqualifiers): "
                        + "; ".join(parts) + ". The council report draws them by hour of week and area "
                        "(divert report --program).")
    for note in f.notes:
        out += wrap(f"note: {note}")
    return out


def _how(h: int) -> str:
    from divert.staffing import DAYS

    return f"{DAYS[h // 24]} {h % 24:02d}h"


def reconcile_lines(city: str, start, end, top: int = 15) -> list[str]:
    from consumers.db.connection import query
    from consumers.db.sources.funnel import type_counts
    from divert.periods import city_timezone, local_span
    from divert.reconcile import reconcile

    tz = city_timezone(city)
    start_t, end_t = local_span(start, end, tz)
    rows, versions = query(type_counts, city, start_t, end_t)
    return reconciliation_text(city, reconcile(rows), versions, top)


def reconciliation_text(city, r, versions, top: int = 15) -> list[str]:
    from divert.costs.table import wrap

    out = wrap(f"{city}: initial → final call type, {r.calls:,} community calls, {r.with_final:,} with a final type "
               f"recorded; policy {', '.join(versions)}. Eligibility is decided on the initial type; the final "
               "type says what the call turned out to be.")
    if not r.with_final:
        return out + wrap(f"{city}'s data records no final call type: the initial types cannot be reconciled.")

    def ended(t) -> str:
        return ", ".join(f"{code} {n:,}" for code, n in list(t.ended_as.items())[:3])

    out += ["", "eligible initial types that ended as a type the policy keeps with police, EMS or co-response",
            f"{'initial APCO code':22}{'calls':>8}{'with final':>12}{'ended not civilian':>20}  ended as (top 3)"]
    for t in r.eligible_to_other[:top]:
        share = f"{t.crossed:,} ({t.share:.0%})" if t.share is not None else "—"
        out.append(f"{(t.code or 'not mapped')[:22]:22}{t.calls:>8,}{t.with_final:>12,}{share:>20}  {ended(t)}"[:WIDTH])
    if r.eligible_with_final:
        out.append(f"{'all eligible':22}{r.eligible_calls:>8,}{r.eligible_with_final:>12,}"
                   f"{f'{r.eligible_crossed:,} ({r.eligible_crossed / r.eligible_with_final:.0%})':>20}")
    out += ["", "the reverse: initial types kept with police that ended as a type the policy sends a civilian",
            f"{'initial APCO code':22}{'calls':>8}{'with final':>12}{'ended civilian':>20}  ended as (top 3)"]
    for t in r.other_to_eligible[:top]:
        share = f"{t.crossed:,} ({t.share:.0%})" if t.share is not None else "—"
        out.append(f"{(t.code or 'not mapped')[:22]:22}{t.calls:>8,}{t.with_final:>12,}{share:>20}  {ended(t)}"[:WIDTH])
    if not r.other_to_eligible:
        out.append("none")
    other_final = r.with_final - r.eligible_with_final
    if other_final:
        out.append(f"{'all kept with police':22}{r.calls - r.eligible_calls:>8,}{other_final:>12,}"
                   f"{f'{r.other_crossed:,} ({r.other_crossed / other_final:.0%})':>20}")
    return out
