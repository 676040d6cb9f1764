"""``divert program add|list|remove``: the programs (a crisis team, a navigator service) whose
before/after is evaluated, with where they work and which routes they take."""

from __future__ import annotations

import asyncio
from datetime import datetime

import click

from divert.exceptions import ConfigError, DivertError

ROUTES = ("crisis", "navigator", "co_response", "police", "ems_fire", "officer_initiated", "admin")


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _timezone(city: str | None):
    from zoneinfo import ZoneInfo

    if not city:
        return ZoneInfo("UTC")
    from divert.adapters import load_adapter

    return ZoneInfo(load_adapter(city).mapping.timezone)


async def _run(fn, *args):
    import asyncpg

    from divert.settings import services

    dsn = services().database_url
    try:
        conn = await asyncpg.connect(dsn, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DivertError(f"cannot connect to the database: {exc}") from exc
    try:
        return await fn(conn, *args)
    except asyncpg.UndefinedColumnError as exc:
        raise DivertError(f"the database schema is out of date ({exc}): run `divert db migrate`") from exc
    finally:
        await conn.close()


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

    async def insert(conn):
        import asyncpg

        from divert.adapters import not_places

        if city:
            known = await conn.fetch("select distinct area from call_areas where agency = $1 and layer = $2",
                                     city, layer)
            names = {r["area"] for r in known}
            if names and (missing := [a for a in area_list if a not in names]):
                raise ConfigError(f"--areas: {missing} not found in layer {layer!r} of {city} "
                                  f"(known: {', '.join(sorted(names)[:40])})")
        try:
            await conn.execute(
                "insert into programs (name, agency, description, start, areas, routes, area_layer, not_compared) "
                "values ($1, $2, $3, $4, $5, $6, $7, $8)", name, city, description, start_at, area_list,
                route_list, layer, sorted(not_places(city, layer)) if city else [])
        except asyncpg.UniqueViolationError:
            raise ConfigError(f"a program named {name!r} exists: remove it first or pick another name") from None

    asyncio.run(_run(insert))
    click.echo(f"program {name!r}: {layer} {', '.join(area_list)}, routes {', '.join(route_list)}, "
               f"from {start_at.isoformat()}")


@command.command("list")
@click.option("--city", help="only this agency's programs")
def list_(city) -> None:
    """List the programs."""

    async def fetch(conn):
        return await conn.fetch(
            "select name, agency, start, area_layer, areas, routes, description from programs "
            "where $1::text is null or agency = $1 order by start", city)

    rows = asyncio.run(_run(fetch))
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

    async def delete(conn):
        return await conn.execute("delete from programs where name = $1", name)

    status = asyncio.run(_run(delete))
    if status.endswith(" 0"):
        raise ConfigError(f"no program named {name!r} (see `divert program list`)")
    click.echo(f"removed program {name!r}")
