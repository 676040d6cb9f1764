"""Eligible demand by hour of week, read from the stored calls (``divert staffing``)."""

from __future__ import annotations

import pandas as pd

from divert.adapters import load_adapter
from divert.evaluation.panel import observed_days
from divert.exceptions import ConfigError


async def eligible_demand(conn, city: str, route: str):
    """(eligible calls per hour of an average week by hour of week, measured police unit-minutes per
    call or None, days with data, policy versions) for the route's community calls."""
    tz = load_adapter(city).mapping.timezone
    day_rows = await conn.fetch(
        "select (received_at at time zone $2)::date as day, count(*) as calls from call_areas "
        "where agency = $1 and layer = 'city' group by 1", city, tz)
    if not day_rows:
        raise ConfigError(f"no stored calls for {city}: replay its history first")
    days = observed_days(pd.Series({pd.Timestamp(r["day"]): r["calls"] for r in day_rows}))
    per_weekday = pd.Series(days.day_of_week).value_counts().to_dict()
    rows = await conn.fetch(
        "select (received_at at time zone $2)::date as day,"
        "       extract(hour from received_at at time zone $2)::int as hour, count(*) as calls,"
        "       avg(extract(epoch from cleared_at - arrived_at) / 60 * coalesce(units, 1))"
        "           filter (where cleared_at >= arrived_at) as unit_minutes,"
        "       count(*) filter (where cleared_at >= arrived_at) as timed"
        "  from call_areas where agency = $1 and layer = 'city' and route = $3 and eligible"
        "   and source <> 'officer_initiated' and time_precision = 'second' group by 1, 2", city, tz, route)
    versions = [r[0] for r in await conn.fetch(
        "select distinct policy_version from call_areas where agency = $1 and layer = 'city' and route = $2",
        city, route)]
    observed = set(days)
    arrivals: dict[int, float] = {}
    minutes, timed = 0.0, 0
    for r in rows:
        day = pd.Timestamp(r["day"])
        if day not in observed:
            continue
        hour = day.day_of_week * 24 + r["hour"]
        arrivals[hour] = arrivals.get(hour, 0.0) + r["calls"] / per_weekday[day.day_of_week]
        if r["timed"]:
            minutes += r["unit_minutes"] * r["timed"]
            timed += r["timed"]
    police = minutes / timed if timed else None
    return arrivals, police, len(days), ", ".join(sorted(versions)) or "none"
