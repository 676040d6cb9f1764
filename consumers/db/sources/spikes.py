"""The spike detector rebuilt from the stored calls, after a start or a rebalance (streams/spikes.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec

from consumers.db.connection import connect
from consumers.exceptions import DatabaseUnavailable
from divert.periods import WINDOW_ORIGIN_SQL
from divert.spikes import (
    CITY_LAYER,
    SpikeMonitor,
    closed_windows,
    load_alert_settings,
    rebuild_from_counts,
    window_start,
)
from schemas import CadEvent, ClassifiedCall

HISTORY_DAYS = 56  # enough windows to learn every hour of the week several times


_COVERAGE = f"""
select date_bin($2::interval, received_at, {WINDOW_ORIGIN_SQL}) as start, count(*)
from calls where agency = $1 and time_precision = 'second' and received_at >= $3 and received_at < $4
group by 1
"""
_COUNTS = f"""
select date_bin($2::interval, received_at, {WINDOW_ORIGIN_SQL}) as start,
       layer, area, route, count(*)
from call_areas
where agency = $1 and eligible and time_precision = 'second' and route = any($5::text[])
  and layer = any($6::text[]) and received_at >= $3 and received_at < $4
group by 1, 2, 3, 4
"""
_OPEN_CALLS = """
select incident_id, received_at, eligible, route, areas, policy_version
from calls where agency = $1 and time_precision = 'second' and received_at >= $2
"""


async def rebuild_from_database(database_url: str, agencies,
                                before: datetime | None = None) -> tuple[SpikeMonitor, list]:
    """The detector as if it had watched the stored calls of the last HISTORY_DAYS live, and the
    alerts that history implies but the alerts table does not hold yet (the store may have
    written calls this agent had not yet counted, e.g. on a first start after a backfill).
    DatabaseUnavailable when the history cannot be read."""
    try:
        return await _rebuild(database_url, agencies, before)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        raise DatabaseUnavailable(f"cannot read the stored calls: {exc}") from exc


async def _rebuild(database_url: str, agencies, before: datetime | None) -> tuple[SpikeMonitor, list]:
    async with connect(database_url) as conn:
        windows, open_calls, latest = [], [], {}
        for agency in agencies:
            s = load_alert_settings(agency)
            newest = await conn.fetchval(
                "select max(received_at) from calls where agency = $1 and time_precision = 'second'", agency)
            if newest is None:
                continue
            # windows the watermark has passed are rebuilt from counts; the open ones from calls
            cut = _window_floor(newest - timedelta(minutes=s.allowed_lateness_minutes), s.window)
            if before is not None:  # the stream delivers the calls from there on
                cut = min(cut, _window_floor(before, s.window))
            since = cut - timedelta(days=HISTORY_DAYS)
            version = await conn.fetchval(
                "select policy_version from calls where agency = $1 order by received_at desc limit 1", agency)
            coverage = {r[0]: r[1] for r in await conn.fetch(_COVERAGE, agency, s.window, since, cut)}
            layers = [la for la in s.layers if la != CITY_LAYER]
            counts = [tuple(r) for r in await conn.fetch(
                _COUNTS, agency, s.window, since, cut, list(s.routes), [*layers, CITY_LAYER])]
            windows += closed_windows(agency, coverage, counts, version or "unknown", s.window)
            latest[agency] = cut
            for r in await conn.fetch(_OPEN_CALLS, agency, cut):
                areas = msgspec.json.decode(r["areas"]) if isinstance(r["areas"], str) else (r["areas"] or {})
                open_calls.append(ClassifiedCall(
                    call=CadEvent(agency=agency, incident_id=r["incident_id"], source="911",
                                  initial_type="stored", received_at=r["received_at"], areas=areas),
                    apco_code=None, crosswalk_confidence=0.0, route=r["route"], eligible_initial=r["eligible"],
                    eligible=r["eligible"], reasons=[], policy_version=r["policy_version"]))
        implied: list = []
        monitor = rebuild_from_counts(windows, load_alert_settings, implied)
        stored = {(r[0], r[1]) for r in await conn.fetch(
            "select alert_id, state from alerts where alert_id = any($1::text[])",
            list({a.alert_id for a in implied}))} if implied else set()
    unsent = [a for a in implied if (a.alert_id, a.state) not in stored]
    for agency, cut in latest.items():
        monitor.windows.mark_closed(agency, cut)
    monitor.windows.add(open_calls)  # the open windows, with their incident ids: no double count
    return monitor, unsent


def _window_floor(t: datetime, window: timedelta) -> datetime:
    return window_start(t.astimezone(UTC), window)


