"""The programs table: record, list and remove the programs whose before/after is evaluated."""

from __future__ import annotations

import functools
from datetime import datetime

import asyncpg

from divert.exceptions import ConfigError, DivertError


def _schema_current(fn):
    @functools.wraps(fn)
    async def wrapper(conn, *args, **kwargs):
        try:
            return await fn(conn, *args, **kwargs)
        except asyncpg.UndefinedColumnError as exc:
            raise DivertError(f"the database schema is out of date ({exc}): run `divert db migrate`") from exc

    return wrapper


async def program_record(conn, name: str, error: type[DivertError] = ConfigError):
    """The row of a program recorded with `divert program add`, which must name its city;
    ``error`` is the caller's kind of failure when it does not."""
    row = await conn.fetchrow(
        "select name, agency, area_layer, areas, routes, start, description from programs where name = $1", name)
    if row is None:
        known = [r["name"] for r in await conn.fetch("select name from programs order by name")]
        raise error(f"no program named {name!r} (known: {', '.join(known) or 'none'}; "
                    "add one with `divert program add`)")
    if not row["agency"]:
        raise error(f"program {name!r} has no city: add it again with --city")
    return row


@_schema_current
async def add_program(conn, *, name: str, city: str | None, description: str | None, start: datetime,
                      areas: list[str], routes: list[str], layer: str) -> None:
    """Record a program; its areas must exist in the layer's stored calls when the city has any."""
    from divert.adapters import not_places

    if city:
        known = await conn.fetch("select distinct area from call_areas where agency = $1 and layer = $2",
                                 city, layer)
        names = {r["area"] for r in known}
        if names and (missing := [a for a in areas if a not in names]):
            raise ConfigError(f"--areas: {missing} not found in layer {layer!r} of {city} "
                              f"(known: {', '.join(sorted(names)[:40])})")
    try:
        await conn.execute(
            "insert into programs (name, agency, description, start, areas, routes, area_layer, not_compared) "
            "values ($1, $2, $3, $4, $5, $6, $7, $8)", name, city, description, start, areas,
            routes, layer, sorted(not_places(city, layer)) if city else [])
    except asyncpg.UniqueViolationError:
        raise ConfigError(f"a program named {name!r} exists: remove it first or pick another name") from None


@_schema_current
async def list_programs(conn, city: str | None = None) -> list[dict]:
    rows = await conn.fetch(
        "select name, agency, start, area_layer, areas, routes, description from programs "
        "where $1::text is null or agency = $1 order by start", city)
    return [dict(r) for r in rows]


@_schema_current
async def remove_program(conn, name: str) -> bool:
    """Remove a program and its stored evaluations; False when there was none of that name."""
    return not (await conn.execute("delete from programs where name = $1", name)).endswith(" 0")
