"""What a supervisor's live view shows, read from the database in one round of queries."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg


@dataclass
class Snapshot:
    calls: int = 0
    dead_letters: int = 0
    by_route: list[tuple[str, int]] = field(default_factory=list)
    eligible_initial: int = 0
    eligible: int = 0
    community_calls: int = 0
    policy_versions: list[str] = field(default_factory=list)
    # (area, officer-initiated, community calls, LQ of enforcement to community demand)
    divergent_areas: list[tuple[str, int, int, float]] = field(default_factory=list)
    open_alerts: list[tuple[str, str, str, float, float]] = field(default_factory=list)


_COUNTS = """
select count(*) as calls,
       count(*) filter (where source <> 'officer_initiated') as community,
       count(*) filter (where eligible_initial) as eligible_initial,
       count(*) filter (where eligible) as eligible,
       coalesce(array_agg(distinct policy_version), '{}') as versions
from calls where agency = $1
"""

_BY_ROUTE = "select route, count(*) as n from calls where agency = $1 group by route order by n desc"

# enforcement (officer-initiated) against community demand (every other source), by area:
# LQ = (officer-initiated share of the area) / (community-call share of the area)
_DIVERGENCE = """
with per_area as (
    select area,
           sum(calls) filter (where source = 'officer_initiated') as enforcement,
           sum(calls) filter (where source <> 'officer_initiated') as demand
    from call_metrics_1d where agency = $1 and layer = $2 and not (area = any($4::text[])) group by area
), totals as (select sum(enforcement) as e, sum(demand) as d from per_area)
select area, coalesce(enforcement, 0)::bigint as enforcement, coalesce(demand, 0)::bigint as demand,
       (coalesce(enforcement, 0) / nullif(e, 0)) / nullif(demand / nullif(d, 0), 0) as lq
from per_area, totals
where demand >= 30
order by lq desc nulls last limit $3
"""

_OPEN_ALERTS = """
select distinct on (alert_id) alert_id, area, route, state, observed, expected
from alerts where agency = $1 order by alert_id, window_start desc, state desc  -- resolved wins a tie
"""


async def snapshot(conn, agency: str, layer: str, top: int = 5,
                   not_places: frozenset[str] = frozenset()) -> Snapshot | None:
    """What the live view shows (None while the worker has not made the tables yet);
    ``not_places``: the layer's values that name no place, left out of the divergence ranking
    and its totals."""
    try:
        counts = await conn.fetchrow(_COUNTS, agency)
    except asyncpg.UndefinedTableError:
        return None
    snap = Snapshot(
        calls=counts["calls"], community_calls=counts["community"],
        eligible_initial=counts["eligible_initial"], eligible=counts["eligible"],
        policy_versions=sorted(counts["versions"]),
        dead_letters=await conn.fetchval("select count(*) from dead_letters where agency = $1", agency),
        by_route=[(r["route"], r["n"]) for r in await conn.fetch(_BY_ROUTE, agency)],
        divergent_areas=[(r["area"], r["enforcement"], r["demand"], r["lq"])
                         for r in await conn.fetch(_DIVERGENCE, agency, layer, top, sorted(not_places))],
    )
    snap.open_alerts = [(r["area"], r["route"], r["alert_id"], r["observed"], r["expected"])
                        for r in await conn.fetch(_OPEN_ALERTS, agency) if r["state"] == "firing"]
    return snap
