"""Read the stored calls the cost tables need, and store a cost model for the dashboards.

Functions take an open asyncpg connection from the caller (the CLI, the report, the tests);
nothing here connects. Windows are [start, end) in UTC; None = from the first / to the last call.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pandas as pd

from divert.costs.compute import CallGroup, weekly_arrivals
from divert.costs.model import CostModel
from divert.exceptions import ConfigError

_WINDOW = "agency = $1 and ($2::timestamptz is null or received_at >= $2) " \
          "and ($3::timestamptz is null or received_at < $3)"


async def fetch_groups(conn, agency: str, start: datetime | None, end: datetime | None) -> list[CallGroup]:
    """Stored calls grouped by route, APCO code, source and eligibility, with measured on-scene time."""
    from divert.policy import load_policy
    from schemas.records import CIVILIAN_ROUTES

    rows = await conn.fetch(
        "select route, apco_code, source, eligible_initial, eligible, policy_version, count(*) as calls, "
        "       count(*) filter (where cleared_at >= arrived_at) as timed, "
        "       coalesce(sum(extract(epoch from cleared_at - arrived_at)::float8 / 60 * coalesce(units, 1)) "
        "                filter (where cleared_at >= arrived_at), 0) as measured "
        f"from calls where {_WINDOW} group by 1, 2, 3, 4, 5, 6", agency, start, end)
    policy = load_policy()

    def initial_route(r) -> str:
        # eligibility on the initial type: the route the policy gives the type before disqualifiers
        base = policy.route_for(r["apco_code"])
        return base if r["eligible_initial"] and base in CIVILIAN_ROUTES else r["route"]

    return [CallGroup(r["route"], r["apco_code"], r["source"], r["eligible_initial"], r["eligible"],
                      initial_route(r), r["calls"], r["timed"], float(r["measured"]), r["policy_version"])
            for r in rows]


async def fetch_arrivals(conn, agency: str, start, end, timezone: str):
    """Eligible community calls per hour of the week, averaged over the days with data, per stage
    and route; and the number of days with data (sampled cities publish some days a month).

    The hour-of-week profile comes from the calls timed to the second; calls known only to the
    day (Seattle's extracts) follow the same profile, so a route's rates add up to all its
    eligible calls per week with data. A route with no timed call is spread evenly over the week.
    """
    from divert.evaluation.panel import observed_days
    from divert.policy import load_policy
    from schemas.records import CIVILIAN_ROUTES

    day_rows = await conn.fetch(
        f"select (received_at at time zone $4)::date as day, count(*) as calls from calls where {_WINDOW} "
        "group by 1", agency, start, end, timezone)
    if not day_rows:
        return {}, 0
    days = observed_days(pd.Series({pd.Timestamp(r["day"]): r["calls"] for r in day_rows}))
    per_weekday = pd.Series(days.day_of_week).value_counts().to_dict()
    observed = set(days)
    weeks = len(days) / 7
    rows = await conn.fetch(
        "select (received_at at time zone $4)::date as day, "
        "       extract(hour from received_at at time zone $4)::int as hour, route, apco_code, "
        "       eligible_initial, eligible, time_precision = 'second' as timed, count(*) as calls "
        f"from calls where {_WINDOW} and (eligible_initial or eligible) and source <> 'officer_initiated' "
        "group by 1, 2, 3, 4, 5, 6, 7", agency, start, end, timezone)
    policy = load_policy()
    profile: list[tuple[str, str, int, float]] = []
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])   # all calls, timed calls
    for r in rows:
        day = pd.Timestamp(r["day"])
        if day not in observed:
            continue
        keys = []
        if r["eligible"]:
            keys.append(("eligible", r["route"]))
        if r["eligible_initial"]:
            base = policy.route_for(r["apco_code"])
            keys.append(("eligible_initial", base if base in CIVILIAN_ROUTES else r["route"]))
        for key in keys:
            totals[key][0] += r["calls"]
            if r["timed"]:
                totals[key][1] += r["calls"]
                profile.append((*key, day.day_of_week * 24 + r["hour"], r["calls"] / per_weekday[day.day_of_week]))
    arrivals = weekly_arrivals(profile)
    out = {}
    for key, (calls, timed) in totals.items():
        if timed:
            scale = calls / timed
            out[key] = {hour: rate * scale for hour, rate in arrivals[key].items()}
        else:
            out[key] = {hour: calls / weeks / 168 for hour in range(168)}
    return out, len(days)


async def fetch_span(conn, agency: str, start, end):
    row = await conn.fetchrow(f"select min(received_at) as lo, max(received_at) as hi, count(*) as n "
                              f"from calls where {_WINDOW}", agency, start, end)
    if not row["n"]:
        raise ConfigError(f"no stored calls for {agency!r} in this window: replay its history first "
                          f"(`divert replay --city {agency}`) or widen --from/--to")
    return row["lo"], row["hi"], row["n"]


async def sync_model(conn, model: CostModel, apco_codes: list[str] | None = None) -> int:
    """Store the model (rate, assumed minutes per APCO code, alternatives) for the dashboards.
    Replaces what was stored for the city; returns the number of on-scene rows written."""
    from divert.crosswalk import load_apco_codes

    codes = sorted(set(apco_codes if apco_codes is not None else load_apco_codes()) | set(model.on_scene.codes))
    rate, uh = model.police_unit_hour.rate, model.police_unit_hour
    rows = []
    for code in [*codes, "*"]:
        for oi in (False, True):
            m = model.on_scene.minutes(None if code == "*" else code, officer_initiated=oi)
            rows.append((model.city, code, oi, model.on_scene.category(None if code == "*" else code),
                         m.low, m.central, m.high))
    async with conn.transaction():
        await conn.execute("delete from cost_models where agency = $1", model.city)
        await conn.execute(
            "insert into cost_models (agency, model_version, fiscal_year, currency, police_hour_low, "
            "police_hour_central, police_hour_high, police_hour_method, police_hour_source, police_hour_year, "
            "police_hour_derivation, on_scene_source, on_scene_assumption) "
            "values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            model.city, model.version, model.fiscal_year, model.currency, rate.low, rate.central, rate.high,
            uh.method, uh.source, uh.year, "\n".join(uh.derivation()), model.on_scene.source,
            model.on_scene.assumption)
        await conn.executemany(
            "insert into cost_on_scene (agency, apco_code, officer_initiated, category, unit_minutes_low, "
            "unit_minutes_central, unit_minutes_high) values ($1, $2, $3, $4, $5, $6, $7)", rows)
        await conn.executemany(
            "insert into cost_alternatives values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            [(model.city, a.route, a.name,
              *(tuple(getattr(a.cost_per_hour, f) for f in ("low", "central", "high")) if a.cost_per_hour
                else (None, None, None)),
              *(tuple(getattr(a.cost_per_call, f) for f in ("low", "central", "high")) if a.cost_per_call
                else (None, None, None)),
              a.responders_per_team, a.service_minutes, a.target_minutes, a.target_share, a.source, a.assumption)
             for a in model.alternatives.values()])
    return len(rows)


async def build_report(conn, city: str, start: datetime | None, end: datetime | None, model: CostModel,
                       timezone: str):
    """Everything `divert costs` and the council report show, for one city and window."""
    from consumers.db.sources.coverage import read_coverage
    from divert.costs.compute import alternative_estimates, by_category, by_route, price
    from divert.costs.table import CostReport
    from divert.crosswalk import load_apco_codes

    lo, hi, n = await fetch_span(conn, city, start, end)
    priced = price(await fetch_groups(conn, city, start, end), model)
    routes = by_route(priced)
    arrivals, days = await fetch_arrivals(conn, city, start, end, timezone)
    coverage = await read_coverage(conn, city, start=start, end=end, timezone=timezone,
                                   budget=f"{model.city} FY{model.fiscal_year} budget")
    alternatives = alternative_estimates(routes, arrivals, days / 7, model, coverage)
    return CostReport(city, model, start or lo, end or hi, timezone, n, days, routes,
                      by_category(priced, load_apco_codes()), alternatives, coverage, arrivals)
