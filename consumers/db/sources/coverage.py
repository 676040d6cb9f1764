"""What the stored calls and crime reports of a city cover (:mod:`divert.coverage`).

Functions take an open asyncpg connection from the caller; nothing here connects. Windows
are [start, end) in UTC; None = from the first / to the last record.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from divert.coverage import Coverage, Source

_WINDOW = "agency = $1 and ($2::timestamptz is null or {t} >= $2) and ($3::timestamptz is null or {t} < $3)"


async def call_layers(conn, agency: str) -> list[str]:
    """The area layers the city's stored calls carry (not the whole-city layer)."""
    return sorted(r[0] for r in await conn.fetch(
        "select distinct layer from call_areas where agency = $1 and layer <> 'city'", agency))


async def crime_layers(conn, agency: str) -> list[str]:
    return sorted(r[0] for r in await conn.fetch(
        "select distinct jsonb_object_keys(areas) from crime_reports where agency = $1", agency))


async def known_layers(conn, agency: str) -> list[str]:
    """Every layer some stored source of the city places records in."""
    return sorted(set(await call_layers(conn, agency)) | set(await crime_layers(conn, agency)))


async def _choose_layer(conn, agency: str) -> str | None:
    """The finest layer the calls and the crime reports share, else the calls' finest layer."""
    counts = {r["layer"]: r["n"] for r in await conn.fetch(
        "select layer, count(distinct area) as n from call_areas where agency = $1 and layer <> 'city' "
        "group by 1", agency)}
    shared = set(counts) & set(await crime_layers(conn, agency))
    pool = shared or set(counts)
    return max(sorted(pool), key=lambda layer: counts[layer]) if pool else None


async def read_coverage(conn, agency: str, *, layer: str | None = None, start: datetime | None = None,
                        end: datetime | None = None, timezone: str = "UTC", budget: str | None = None) -> Coverage:
    """The coverage of the city's calls and crime reports by ``layer`` (default: the finest layer
    both carry) over [start, end); ``budget`` names the cost model's budget when one is used."""
    from divert.adapters import not_places
    from divert.evaluation.panel import observed_days

    layer = layer or await _choose_layer(conn, agency)
    ignore = set(not_places(agency, layer)) if layer else set()
    window = _WINDOW.format(t="received_at")
    day_rows = await conn.fetch(
        f"select (received_at at time zone $4)::date as day, count(*) as n from calls where {window} group by 1",
        agency, start, end, timezone)
    days = observed_days(pd.Series({pd.Timestamp(r["day"]): r["n"] for r in day_rows}, dtype=float))
    span = await conn.fetchrow(f"select min(received_at) as lo, max(received_at) as hi, count(*) as n "
                               f"from calls where {window}", agency, start, end)
    call_areas = set()
    if layer:
        call_areas = {r[0] for r in await conn.fetch(
            f"select distinct area from call_areas where {window} and layer = $4", agency, start, end, layer)}
    calls = Source("calls", frozenset(call_areas - ignore), span["lo"], span["hi"], len(days), span["n"])

    crime_window = _WINDOW.format(t="occurred_at")
    row = await conn.fetchrow(
        f"select min(occurred_at) as lo, max(occurred_at) as hi, count(*) as n, "
        f"count(distinct (occurred_at at time zone $4)::date) as days from crime_reports where {crime_window}",
        agency, start, end, timezone)
    crime = None
    if row["n"]:
        crime_areas = set()
        if layer:
            crime_areas = {r[0] for r in await conn.fetch(
                f"select distinct areas ->> $4 from crime_reports where {crime_window} and areas ? $4",
                agency, start, end, layer)}
        crime = Source("crime reports", frozenset(crime_areas - ignore - {None, ""}), row["lo"], row["hi"],
                       row["days"], row["n"])
    return Coverage(agency, layer, calls, crime, budget, boundary_areas(agency, layer) - ignore)


def boundary_areas(agency: str, layer: str | None) -> frozenset[str]:
    """The layer's areas in the city's boundary file (reference/areas/<name>.yaml), if it has one."""
    from divert.adapters import available_cities, load_adapter
    from divert.areas import load_area_config, read_polygons
    from divert.paths import shared_data_dir

    if not layer or agency not in available_cities():
        return frozenset()
    name = load_adapter(agency).mapping.area_layers
    spec = load_area_config(name).layers.get(layer) if name else None
    if spec is None:
        return frozenset()
    return frozenset(area for area, _ in read_polygons(shared_data_dir() / spec.file, spec.key, spec.crs))
