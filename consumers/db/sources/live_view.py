"""What a supervisor's live view shows, read from the database in one round of queries.

Periods are in event time: the last hour and the current shift end at the newest stored call, not
at the wall clock (a replay is history), and shifts begin at the city's local clock.

>>> from datetime import UTC, datetime
>>> shift_start(datetime(2024, 7, 2, 4, 30, tzinfo=UTC), "America/Chicago", hours=8, first=6).isoformat()
'2024-07-02T03:00:00+00:00'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg


def shift_start(newest: datetime, tz: str, *, hours: int = 8, first: int = 6) -> datetime:
    """The start of the shift holding ``newest``: shifts of ``hours`` from ``first`` o'clock, local."""
    local = newest.astimezone(ZoneInfo(tz))
    day = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=first)
    if day > local:
        day -= timedelta(days=1)
    k = int((local - day) / timedelta(hours=hours))
    return (day + timedelta(hours=k * hours)).astimezone(newest.tzinfo)


@dataclass
class Counts:
    """One period's calls: community calls by route, officer-initiated events apart."""

    community: int = 0
    officer_initiated: int = 0
    eligible_initial: int = 0
    eligible: int = 0
    by_route: dict[str, int] = field(default_factory=dict)


@dataclass
class Alert:
    area: str
    route: str
    alert_id: str
    observed: float
    expected: float
    window_start: datetime
    window_end: datetime


@dataclass
class Snapshot:
    first: datetime | None = None            # the period the stored calls cover
    newest: datetime | None = None
    shift_start: datetime | None = None
    total: Counts = field(default_factory=Counts)
    last_hour: Counts = field(default_factory=Counts)
    shift: Counts = field(default_factory=Counts)
    dead_letters: int = 0
    policy_versions: list[str] = field(default_factory=list)
    # (area, officer-initiated, community calls, LQ of enforcement to community demand)
    divergent_areas: list[tuple[str, int, int, float]] = field(default_factory=list)
    open_alerts: list[Alert] = field(default_factory=list)
    # eligible civilian-route calls timed to the second in the hours before the newest: (received_at,
    # route, APCO code, incident id), for the configured teams' live state (divert.simulation.live)
    recent_eligible: list[tuple[datetime, str, str | None, str]] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return self.total.community + self.total.officer_initiated


_SPAN = "select min(received_at) as first, max(received_at) as newest from calls where agency = $1"

# officer-initiated: the source says so (the route is then officer_initiated too); never community demand
_BY_ROUTE = """
select route, source = 'officer_initiated' or route = 'officer_initiated' as officer,
       count(*) as n, count(*) filter (where received_at > $2) as hour, count(*) filter (where received_at >= $3) as shift,
       count(*) filter (where eligible_initial) as ei, count(*) filter (where eligible_initial and received_at > $2) as ei_hour,
       count(*) filter (where eligible_initial and received_at >= $3) as ei_shift,
       count(*) filter (where eligible) as e, count(*) filter (where eligible and received_at > $2) as e_hour,
       count(*) filter (where eligible and received_at >= $3) as e_shift,
       array_agg(distinct policy_version) as versions
from calls where agency = $1 group by 1, 2
"""

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

_RECENT_ELIGIBLE = """
select received_at, route, apco_code, incident_id from calls
where agency = $1 and eligible and route in ('crisis', 'navigator') and time_precision = 'second'
  and received_at > $2 and received_at <= $3 and source <> 'officer_initiated'
order by received_at
"""

_OPEN_ALERTS = """
select distinct on (alert_id) alert_id, area, route, state, observed, expected, window_start, window_end
from alerts where agency = $1 order by alert_id, window_start desc, state desc  -- resolved wins a tie
"""


async def snapshot(conn, agency: str, layer: str, top: int = 5, not_places: frozenset[str] = frozenset(), *,
                   timezone: str = "UTC", shift_hours: int = 8, first_shift: int = 6) -> Snapshot | None:
    """What the live view shows (None while the worker has not made the tables yet);
    ``not_places``: the layer's values that name no place, left out of the divergence ranking
    and its totals."""
    try:
        span = await conn.fetchrow(_SPAN, agency)
    except asyncpg.UndefinedTableError:
        return None
    snap = Snapshot(first=span["first"], newest=span["newest"])
    if snap.newest is None:
        snap.dead_letters = await conn.fetchval("select count(*) from dead_letters where agency = $1", agency)
        return snap
    snap.shift_start = shift_start(snap.newest, timezone, hours=shift_hours, first=first_shift)
    hour = snap.newest - timedelta(hours=1)
    versions: set[str] = set()
    for r in await conn.fetch(_BY_ROUTE, agency, hour, snap.shift_start):
        versions.update(v for v in r["versions"] if v)
        for counts, n, ei, e in ((snap.total, r["n"], r["ei"], r["e"]),
                                 (snap.last_hour, r["hour"], r["ei_hour"], r["e_hour"]),
                                 (snap.shift, r["shift"], r["ei_shift"], r["e_shift"])):
            if r["officer"]:
                counts.officer_initiated += n
                continue
            counts.community += n
            counts.eligible_initial += ei
            counts.eligible += e
            counts.by_route[r["route"]] = counts.by_route.get(r["route"], 0) + n
    snap.policy_versions = sorted(versions)
    snap.dead_letters = await conn.fetchval("select count(*) from dead_letters where agency = $1", agency)
    snap.divergent_areas = [(r["area"], r["enforcement"], r["demand"], r["lq"])
                            for r in await conn.fetch(_DIVERGENCE, agency, layer, top, sorted(not_places))]
    snap.open_alerts = [Alert(r["area"], r["route"], r["alert_id"], r["observed"], r["expected"],
                              r["window_start"], r["window_end"])
                        for r in await conn.fetch(_OPEN_ALERTS, agency) if r["state"] == "firing"]
    snap.open_alerts.sort(key=lambda a: a.window_start, reverse=True)
    snap.recent_eligible = [(r["received_at"], r["route"], r["apco_code"], r["incident_id"]) for r in
                            await conn.fetch(_RECENT_ELIGIBLE, agency, snap.newest - timedelta(hours=4), snap.newest)]
    return snap
