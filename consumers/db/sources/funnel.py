"""The stored calls a program's funnel reads (``divert funnel``, ``divert staffing``, the council
report), the days the city published, and the initial → final type counts of the reconciliation.

Functions take an open asyncpg connection; nothing here connects. Windows are [start, end) in UTC;
None = from the first / to the last call.
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from divert.classify import DISQUALIFIED, GUARD, reason
from divert.exceptions import ConfigError
from divert.reconcile import GroupCount
from schemas.records import CadEvent, ClassifiedCall

_WINDOW = ("agency = $1 and ($2::timestamptz is null or received_at >= $2) "
           "and ($3::timestamptz is null or received_at < $3)")


async def funnel_calls(conn, city: str, start: datetime | None = None, end: datetime | None = None
                       ) -> list[ClassifiedCall]:
    """Every stored call of the window as the funnel reads it: the classification, the times, the
    disposition and the areas, and of the reasons only the guard's and the disqualifiers' (the
    rest is text the funnel does not read)."""
    rows = await conn.fetch(
        "select incident_id, source, initial_type, received_at, time_precision, arrived_at, cleared_at, "
        "       disposition, areas::text as areas, apco_code, crosswalk_confidence, route, eligible_initial, "
        "       eligible, policy_version, final_apco_code, final_route, "
        "       array(select r from unnest(reasons) r where starts_with(r, $4) or starts_with(r, $5)) as reasons "
        f"from calls where {_WINDOW} order by received_at",
        city, start, end, reason(GUARD, ""), reason(DISQUALIFIED, ""))
    if not rows:
        raise ConfigError(f"no stored calls for {city} in this window: load its history first "
                          f"(divert load --city {city})")
    out = []
    for r in rows:
        ev = CadEvent(agency=city, incident_id=r["incident_id"], source=r["source"], initial_type=r["initial_type"],
                      received_at=r["received_at"], time_precision=r["time_precision"],
                      arrived_at=r["arrived_at"], cleared_at=r["cleared_at"], disposition=r["disposition"],
                      areas=msgspec.json.decode(r["areas"]))
        out.append(ClassifiedCall(call=ev, apco_code=r["apco_code"], crosswalk_confidence=r["crosswalk_confidence"],
                                  route=r["route"], eligible_initial=r["eligible_initial"], eligible=r["eligible"],
                                  reasons=list(r["reasons"]), policy_version=r["policy_version"],
                                  final_apco_code=r["final_apco_code"], final_route=r["final_route"]))
    return out


async def published_days(conn, city: str, timezone: str, start: datetime | None = None,
                         end: datetime | None = None) -> list[date]:
    """The local days with at least one stored call timed to the second (a sampled city publishes
    some days a month, an extract some dates only: the simulation puts teams on duty on these days)."""
    rows = await conn.fetch(f"select distinct (received_at at time zone $4)::date as day from calls where {_WINDOW} "
                            "and time_precision = 'second' order by 1", city, start, end, timezone)
    return [r["day"] for r in rows]


async def area_layers(conn, city: str) -> list[str]:
    """The area layers the city's stored calls carry (``city`` excluded)."""
    rows = await conn.fetch("select distinct layer from call_areas where agency = $1 and layer <> 'city' "
                            "order by 1", city)
    return [r["layer"] for r in rows]


async def type_counts(conn, city: str, start: datetime | None = None, end: datetime | None = None
                      ) -> tuple[list[GroupCount], list[str]]:
    """Community calls by initial code and eligibility × final code and route (the reconciliation),
    and the policy versions that classified them."""
    rows = await conn.fetch(
        "select apco_code, eligible_initial, final_apco_code, final_route, count(*) as calls, "
        "       array_agg(distinct policy_version) as versions "
        f"from calls where {_WINDOW} and source <> 'officer_initiated' group by 1, 2, 3, 4", city, start, end)
    if not rows:
        raise ConfigError(f"no stored community calls for {city} in this window: load its history first "
                          f"(divert load --city {city})")
    versions = sorted({v for r in rows for v in r["versions"]})
    return [GroupCount(r["apco_code"], r["eligible_initial"], r["final_apco_code"], r["final_route"], r["calls"])
            for r in rows], versions
