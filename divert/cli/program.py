"""``divert program add|list|remove``: the programs (a crisis team, a navigator service) whose
before/after is evaluated, with where they work and which routes they take."""

from __future__ import annotations

from datetime import datetime

import click

from divert.exceptions import ConfigError

ROUTES = ("crisis", "navigator", "co_response", "police", "ems_fire", "officer_initiated", "admin")


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _timezone(city: str | None):
    from zoneinfo import ZoneInfo

    if not city:
        return ZoneInfo("UTC")
    from divert.adapters import load_adapter

    return ZoneInfo(load_adapter(city).mapping.timezone)


@click.group("program")
def command() -> None:
    """Programs to evaluate: where they work, what they take, since when."""


@command.command("add")
@click.option("--name", required=True, help="a short unique name, e.g. 'crisis-team-north'")
@click.option("--start", required=True, help="the first day the program worked (YYYY-MM-DD, local time)")
@click.option("--areas", required=True, help="comma-separated areas of one layer, e.g. NORTH,CENTRAL")
@click.option("--layer", default="district", show_default=True,
              help="the area layer the areas belong to (district, substation, beat, ...)")
@click.option("--routes", default="crisis", show_default=True, help=f"comma-separated: {', '.join(ROUTES)}")
@click.option("--city", help="the agency (city slug); its time zone places the start day")
@click.option("--description", help="what the program is, in a sentence")
def add(name, start, areas, layer, routes, city, description) -> None:
    """Record a program."""
    try:
        day = datetime.strptime(start, "%Y-%m-%d")
    except ValueError:
        raise ConfigError(f"--start {start!r}: expected a date like 2024-06-01") from None
    route_list, area_list = _split(routes), _split(areas)
    unknown = [r for r in route_list if r not in ROUTES]
    if unknown:
        raise ConfigError(f"--routes: unknown route(s) {unknown}; choose from {', '.join(ROUTES)}")
    if not area_list:
        raise ConfigError("--areas: name at least one area")
    start_at = day.replace(tzinfo=_timezone(city))

    from consumers.db.connection import query
    from consumers.db.sources.programs import add_program

    query(add_program, name=name, city=city, description=description, start=start_at, areas=area_list,
          routes=route_list, layer=layer)
    click.echo(f"program {name!r}: {layer} {', '.join(area_list)}, routes {', '.join(route_list)}, "
               f"from {start_at.isoformat()}")


@command.command("list")
@click.option("--city", help="only this agency's programs")
def list_(city) -> None:
    """List the programs."""

    from consumers.db.connection import query
    from consumers.db.sources.programs import list_programs

    rows = query(list_programs, city)
    if not rows:
        click.echo("no programs: add one with `divert program add`")
    for r in rows:
        click.echo(f"{r['name']:28} {r['agency'] or '-':14} {r['start']:%Y-%m-%d}  {r['area_layer']}: "
                   f"{', '.join(r['areas'])}  routes: {', '.join(r['routes'])}"
                   + (f"  — {r['description']}" if r['description'] else ""))


list_.name = "list"


@command.command("remove")
@click.option("--name", required=True)
def remove(name) -> None:
    """Remove a program (and its stored evaluations)."""

    from consumers.db.connection import query
    from consumers.db.sources.programs import remove_program

    if not query(remove_program, name):
        raise ConfigError(f"no program named {name!r} (see `divert program list`)")
    click.echo(f"removed program {name!r}")
