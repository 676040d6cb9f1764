"""The call metric windows ``call_metrics_1m|1h|1d``, all rendered from one definition.

One SELECT over ``call_areas`` defines a window of any width; it is rendered

- as the date_bin views and the TimescaleDB continuous aggregates of migration 002 (which
  stays as applied; tests check it equals these renderings),
- and, on plain PostgreSQL, where migration 013 made the windows tables, as the refresh the
  writer runs in each batch's transaction: the buckets the batch touched — of the rows it wrote
  and of the rows it replaced or deleted — are recomputed from ``call_areas`` (delete, then
  insert … select). Percentiles cannot be updated incrementally, so a bucket is recomputed whole.

A touched bucket is (agency, layer, area, bucket): the writer records the (agency, layer, area,
minute) of every call_areas row it removes or adds in the temporary table ``touched_call_areas``,
and each width recomputes those buckets, reading only their rows through call_areas' (agency,
layer, area, received_at) index, one range per area and day (per week for the daily window).

Two workers may store calls of one agency at the same time. Each takes a transaction-scoped
advisory lock per agency before refreshing, so the second waits for the first to commit and,
each statement taking a new snapshot (READ COMMITTED), recomputes with the first's rows in view.
The locks are taken last, after every row lock of the batch, so they cannot deadlock with them.
"""

from __future__ import annotations

from divert.periods import WINDOW_ORIGIN_SQL as ORIGIN  # buckets aligned like time_bucket's

WIDTHS = {"1m": "1 minute", "1h": "1 hour", "1d": "1 day"}
# calls known only to the day count in the daily window only
SECOND_PRECISION_ONLY = ("1m", "1h")
GROUP = ("agency", "policy_version", "layer", "area", "route", "source")

_RESPONDED = "time_precision = 'second' and arrived_at >= received_at"
_RESPONSE_SECONDS = "extract(epoch from arrived_at - received_at)::double precision"
MEASURES = (
    ("calls", "count(*)"),
    ("eligible_initial", "count(*) filter (where eligible_initial)"),
    ("eligible", "count(*) filter (where eligible)"),
    ("officer_initiated", "count(*) filter (where source = 'officer_initiated')"),
    ("responded", f"count(*) filter (where {_RESPONDED})"),
    ("unit_minutes_on_scene", "sum(extract(epoch from cleared_at - arrived_at)::double precision / 60"
                              " * coalesce(units, 1)) filter (where cleared_at >= arrived_at)"),
    ("response_p50_seconds", f"percentile_cont(0.5) within group (order by {_RESPONSE_SECONDS})"
                             f" filter (where {_RESPONDED})"),
    ("response_p90_seconds", f"percentile_cont(0.9) within group (order by {_RESPONSE_SECONDS})"
                             f" filter (where {_RESPONDED})"),
)
COLUMNS = ("bucket", *GROUP, *(name for name, _ in MEASURES))

TOUCHED = "touched_call_areas"


def table(width: str) -> str:
    return f"call_metrics_{width}"


def bucket(width: str, *, timescale: bool = False, at: str = "received_at") -> str:
    if timescale:
        return f"time_bucket('{WIDTHS[width]}', {at})"
    return f"date_bin('{WIDTHS[width]}', {at}, {ORIGIN})"


def select(width: str, *, timescale: bool = False, source: str = "call_areas") -> str:
    """The window's definition: one row per bucket and group of the call_areas rows in ``source``."""
    measures = ",\n    ".join(f"{sql} as {name}" for name, sql in MEASURES)
    where = "\nwhere time_precision = 'second'" if width in SECOND_PRECISION_ONLY else ""
    return (f"select\n    {bucket(width, timescale=timescale)} as bucket,\n    {', '.join(GROUP)},\n"
            f"    {measures}\nfrom {source}{where}\ngroup by {', '.join(str(i) for i in range(1, len(GROUP) + 2))}")


def view(width: str) -> str:
    """The date_bin view of migration 002 (plain PostgreSQL before 013)."""
    return f"create view {table(width)} as\n{select(width)}"


def continuous_aggregate(width: str) -> str:
    """The real-time continuous aggregate of 002_call_metrics.timescale.sql."""
    return (f"create materialized view {table(width)}\n"
            f"with (timescaledb.continuous, timescaledb.materialized_only = false) as\n"
            f"{select(width, timescale=True)}\nwith no data")


# -- the refresh, on plain PostgreSQL ----------------------------------------------------------

CREATE_TOUCHED = (f"create temp table if not exists {TOUCHED} "
                  f"(agency text, layer text, area text, minute timestamptz) on commit delete rows")


def touch(rows: str) -> str:
    """Record the buckets of ``rows`` (a query or CTE name with agency, layer, area, received_at)."""
    return (f"insert into {TOUCHED} select distinct agency, layer, area, {bucket('1m')} "
            f"from {rows}")


# The touched buckets of one (agency, layer, area) within one span are read as one range: the
# untouched buckets between them are recomputed too, which is right (any bucket recomputed from
# call_areas is) and costs less than an index probe per bucket.
_SPAN = {"1m": "1 day", "1h": "1 day", "1d": "7 days"}


def _touched_ranges(width: str) -> str:
    """One row per (agency, layer, area, span) touched: its first and last touched bucket."""
    b = bucket(width, at="minute")
    return (f"(select agency as t_agency, layer as t_layer, area as t_area, min({b}) as t_lo, max({b}) as t_hi "
            f"from {TOUCHED} group by agency, layer, area, date_bin('{_SPAN[width]}', minute, {ORIGIN})) t")


_IN_TOUCHED_AREA = "agency = t_agency and layer = t_layer and area = t_area"


def refresh(width: str) -> str:
    """Recompute the window's touched buckets from call_areas.

    Each range of touched buckets is one index range scan, of the window's rows and of
    call_areas': a LATERAL subquery the planner may not flatten (``offset 0``) makes the plan a
    loop over the ranges whatever the statistics say. A batch touches thousands of buckets of
    tables of millions of rows, which a hash or merge join would read whole (without fresh
    statistics the planner chose one: 20 s a batch).
    """
    old_rows = (f"{_touched_ranges(width)} cross join lateral (select ctid as old_row from {table(width)} "
                f"where {_IN_TOUCHED_AREA} and bucket >= t_lo and bucket <= t_hi offset 0) old")
    rows = (f"{_touched_ranges(width)} cross join lateral (select * from call_areas "
            f"where {_IN_TOUCHED_AREA} and received_at >= t_lo "
            f"and received_at < t_hi + interval '{WIDTHS[width]}' offset 0) call_areas")
    return (f"delete from {table(width)} m using {old_rows} where m.ctid = old.old_row;\n"
            f"insert into {table(width)} ({', '.join(COLUMNS)})\n{select(width, source=rows)}")


# one advisory lock per agency (sorted, so two writers take them in the same order)
_LOCK_AGENCIES = (f"select pg_advisory_xact_lock(hashtextextended('divert.call_metrics.' || agency, 0)) "
                  f"from (select distinct agency from {TOUCHED} order by agency) a")

REFRESH = ";\n".join((_LOCK_AGENCIES, *(refresh(width) for width in WIDTHS)))
"""Every window's touched buckets, one round trip (no parameters: the keys are server-side)."""

REBUILD = ";\n".join(f"truncate {table(width)};\ninsert into {table(width)} ({', '.join(COLUMNS)})\n"
                     f"{select(width)}" for width in WIDTHS)
"""Every window recomputed from all of call_areas (after a bulk load that bypassed the writer)."""

# the writer refreshes where the windows are tables (plain PostgreSQL after 013); on TimescaleDB
# they are continuous aggregates, which TimescaleDB keeps itself
ARE_TABLES = f"(select relkind = 'r' from pg_class where oid = to_regclass('{table('1m')}'))"


__all__ = ["COLUMNS", "CREATE_TOUCHED", "REBUILD", "REFRESH", "WIDTHS", "ARE_TABLES", "continuous_aggregate",
           "select", "table", "touch", "view"]
