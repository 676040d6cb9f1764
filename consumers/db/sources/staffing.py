"""Eligible demand by hour of week, read from the stored calls (``divert staffing``).

The demand is the one ``divert costs`` staffs (:func:`consumers.db.sources.costs.fetch_arrivals`),
and with a cost model the police time is the one it prices, so the two commands agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from divert.costs.model import CostModel, Range
from divert.coverage import Coverage
from divert.exceptions import ConfigError


@dataclass(frozen=True)
class Demand:
    arrivals: dict[int, float]          # hour of week -> eligible calls per hour, over the weeks with data
    days: int                           # days with data
    calls: int                          # eligible community calls of the route in the window
    policy_versions: str
    coverage: Coverage
    police_hours: Range | None          # the police unit-hours those calls took (cost model), or None
    police_cost: Range | None
    measured_minutes: float | None      # measured police unit-minutes per timed call, or None

    @property
    def weeks(self) -> float:
        return self.days / 7

    @property
    def calls_per_week(self) -> float:
        return sum(self.arrivals.values())


async def eligible_demand(conn, city: str, route: str, timezone: str, model: CostModel | None = None,
                          start=None, end=None) -> Demand:
    """The route's eligible community calls (after the disqualifiers) per hour of an average week
    with data, with what they cost in police time when a cost model is given."""
    from consumers.db.sources.costs import build_report, fetch_arrivals, fetch_span
    from consumers.db.sources.coverage import read_coverage

    await fetch_span(conn, city, start, end)   # a one-line error when nothing is stored
    hours = cost = None
    if model is not None:
        report = await build_report(conn, city, start, end, model, timezone)
        arrivals, days, coverage = report.arrivals, report.days_with_data, report.coverage
        line = next((x for x in report.routes if x.stage == "eligible" and x.key == route), None)
        if line is not None:
            hours, cost = line.hours, line.cost
    else:
        arrivals, days = await fetch_arrivals(conn, city, start, end, timezone)
        coverage = await read_coverage(conn, city, start=start, end=end, timezone=timezone)
    row = await conn.fetchrow(
        "select count(*) as calls, string_agg(distinct policy_version, ', ') as versions, "
        "       avg(extract(epoch from cleared_at - arrived_at) / 60 * coalesce(units, 1)) "
        "           filter (where cleared_at >= arrived_at) as measured "
        "from calls where agency = $1 and route = $2 and eligible and source <> 'officer_initiated' "
        "and ($3::timestamptz is null or received_at >= $3) and ($4::timestamptz is null or received_at < $4)",
        city, route, start, end)
    if not days:
        raise ConfigError(f"no stored calls for {city}: replay its history first")
    measured = float(row["measured"]) if row["measured"] is not None else None
    return Demand(dict(arrivals.get(("eligible", route), {})), days, row["calls"], row["versions"] or "none",
                  coverage, hours, cost, measured)
