"""Benchmark (issue 17): every dashboard panel's query over ≥ 5M stored calls on the embedded
PostgreSQL, p95 per panel (target ≤ 100 ms).

It builds the data set itself, on a stack of its own: San Antonio's history classified once in
memory, then stored ``--copies`` times (default 7: 5.0M calls), each copy shifted back in time by
a whole number of weeks past the history's span and given new incident ids, with a plain COPY
into ``calls``; call_areas and the metric windows are then filled in the database from the
stored calls (as the writer would have), a program on the two busiest substations, San Antonio's
cost model stored (as `divert costs sync` does: the police time panels price calls), the tables'
indexes built once after the load (as a restore does), and the tables vacuumed and analyzed (as
autovacuum would). Not timed.

Then every SQL panel of every dashboard runs ``--repeat`` times, expanded as Grafana expands it:
the dashboard's default time range (now-6h, now-30d, …) ending at the last stored call, the
default variables (city = the first agency, layer ``--layer``, area and route All). Printed per
panel: p50 and p95 in ms.

``--views`` builds the same set with migrations 001–012 only, where the windows are the date_bin
views (the state before issue 17), for a before/after comparison; it sets a 60 s statement
timeout and ``--repeat`` 3.

For repeated experiments, ``--keep DIR`` builds the stack in DIR and keeps it (the stack is still
stopped at the end; the database's name is written to DIR/panels-database), and ``--reuse DIR``
starts that stack again, applies any migration added since (``migrate``, as a worker would, then
``vacuum analyze`` as autovacuum would) and measures without building (minutes saved;
``--copies`` is then that of the build, and a ``--views`` build is not for reuse: the migration
would replace its views). ``--panel TEXT`` measures only the panels whose dashboard uid or title
contains TEXT.

    .venv/bin/python -m bench.panels [--copies 7] [--repeat 20] [--layer city] [--views]
                                     [--keep DIR | --reuse DIR] [--panel TEXT]

Ends with ``panels_p95_ms=P calls=N``, P being the slowest panel's p95.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.common import embedded_stack, fresh_database, machine, percentile, result_line, say

COPY_BATCH = 50_000
# the columns of calls a copy shifts in time
TIMES = ("received_at", "dispatched_at", "arrived_at", "cleared_at")

# a program on the two busiest substations, so the programs dashboard's panels have something to show
_PROGRAM = """
insert into programs (name, agency, start, areas, routes, area_layer, description)
select 'bench program', 'san_antonio', (select max(received_at) from calls) - interval '180 days',
       (select array_agg(area) from (select area from call_metrics_1d where agency = 'san_antonio'
                                     and layer = 'substation' group by 1 order by sum(calls) desc limit 2) s),
       (select array_agg(distinct route) from call_metrics_1d), 'substation', 'benchmark'
"""

_FILL_CALL_AREAS = """
insert into call_areas (agency, incident_id, received_at, layer, area, policy_version, route, source,
                        time_precision, eligible_initial, eligible, arrived_at, cleared_at, units, apco_code)
select c.agency, c.incident_id, c.received_at, a.layer, a.area, c.policy_version, c.route, c.source,
       c.time_precision, c.eligible_initial, c.eligible, c.arrived_at, c.cleared_at, c.units, c.apco_code
from calls c
cross join lateral (
    select key, value from jsonb_each_text(c.areas) where value <> '' union all select 'city', 'all'
) as a(layer, area)
"""


# the tables the build fills: their indexes are dropped for the load and built once after it
BUILT = ("calls", "call_areas", "call_metrics_1m", "call_metrics_1h", "call_metrics_1d")


async def without_indexes(conn) -> list[str]:
    """Drop the indexes and primary keys of the tables the build fills; return the DDL that
    rebuilds them exactly (a bulk load builds an index faster once than row by row)."""
    keys = await conn.fetch(
        "select conrelid::regclass::text as tab, conname, pg_get_constraintdef(oid) as def from pg_constraint "
        "where contype = 'p' and conrelid::regclass::text = any($1)", list(BUILT))
    indexes = await conn.fetch(
        "select i.indexname, i.indexdef from pg_indexes i where i.schemaname = 'public' and i.tablename = any($1) "
        "and not exists (select 1 from pg_constraint c where c.conname = i.indexname)", list(BUILT))
    for k in keys:
        await conn.execute(f'alter table {k["tab"]} drop constraint "{k["conname"]}"')
    for i in indexes:
        await conn.execute(f'drop index "{i["indexname"]}"')
    return ([f'alter table {k["tab"]} add constraint "{k["conname"]}" {k["def"]}' for k in keys]
            + [i["indexdef"] for i in indexes])


def san_antonio_rows() -> tuple[list[str], list[tuple]]:
    """Every San Antonio call, classified, as rows of calls (column names, rows)."""
    from bench.store import classified_calls
    from consumers.db.writer import CALL_COLUMNS, _call_arrays, _staged_rows

    calls = classified_calls(10**9)
    return [c for c, _ in CALL_COLUMNS], _staged_rows(_call_arrays(calls))


def shifted(names: list[str], rows: list[tuple], copy: int, shift: timedelta):
    """The rows moved ``copy`` × ``shift`` back in time, with incident ids of their own."""
    if copy == 0:
        yield from rows
        return
    at_id = names.index("incident_id")
    at_times = [names.index(t) for t in TIMES]
    back = shift * copy
    for row in rows:
        row = list(row)
        row[at_id] = f"{row[at_id]}~{copy}"
        for i in at_times:
            if row[i] is not None:
                row[i] -= back
        yield tuple(row)


async def build(url: str, copies: int, views: bool) -> int:
    import asyncpg

    from consumers.db import metrics
    from consumers.db.migrate import MIGRATIONS_DIR, migrate

    if views:  # the schema before issue 17: the windows are date_bin views
        before = Path(tempfile.mkdtemp(prefix="divert-migrations-"))
        for path in MIGRATIONS_DIR.glob("*.sql"):
            if int(path.name[:3]) <= 12:
                shutil.copy(path, before)
        await migrate(url, directory=before)
    else:
        await migrate(url)
    say("classifying San Antonio")
    names, rows = san_antonio_rows()
    at = names.index("received_at")
    span = max(r[at] for r in rows) - min(r[at] for r in rows)
    shift = timedelta(weeks=span.days // 7 + 1)  # whole weeks: the copies keep weekdays and hours
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        rebuild_indexes = await without_indexes(conn)
        for copy in range(copies):
            batch = []
            for row in shifted(names, rows, copy, shift):
                batch.append(row)
                if len(batch) == COPY_BATCH:
                    await conn.copy_records_to_table("calls", records=batch, columns=names)
                    batch = []
            await conn.copy_records_to_table("calls", records=batch, columns=names)
            say(f"  copy {copy + 1}/{copies} stored ({(copy + 1) * len(rows):,} calls, "
                f"{time.perf_counter() - started:.0f} s)")
        await conn.execute("set work_mem = '256MB'; set maintenance_work_mem = '1GB'")
        say("filling call_areas")
        await conn.execute(_FILL_CALL_AREAS)
        if not views:
            say("filling the metric windows")
            await conn.execute(metrics.REBUILD)
        say("building the indexes")
        for ddl in rebuild_indexes:
            await conn.execute(ddl)
        await conn.execute(_PROGRAM)
        await load_cost_model(conn)
        say("vacuum analyze")
        await conn.execute("vacuum analyze")
        n = await conn.fetchval("select count(*) from calls")
        say(f"built {n:,} calls in {time.perf_counter() - started:.0f} s")
        return n
    finally:
        await conn.close()


async def load_cost_model(conn) -> None:
    """San Antonio's cost model, as `divert costs sync --city san_antonio` stores it, so the police
    time panels price calls the way they do in use."""
    from consumers.db.sources.costs import sync_model
    from divert.costs.model import load_model

    await sync_model(conn, load_model("san_antonio"))


async def measure(url: str, layer: str, repeat: int, views: bool,
                  only: str | None = None) -> list[tuple[str, float, float]]:
    import asyncpg

    from consumers.db.sources.dashboards import resolve_variables
    from divert.dashboards.check import expand_query
    from divert.dashboards.macros import TimeRange, parse_interval
    from divert.dashboards.model import load_dashboards, load_datasources, relative_range

    conn = await asyncpg.connect(url)
    if views:
        await conn.execute("set statement_timeout = '60s'")
    try:
        end = await conn.fetchval("select max(received_at) from calls")
        sources = load_datasources()
        results = []
        for board in load_dashboards():
            default = (board.data.get("time") or {}).get("from", "now-6h")
            tr = TimeRange(end - timedelta(milliseconds=parse_interval(default.removeprefix("now-"))), end)
            chosen = {"layer": layer} if any(v["name"] == "layer" for v in board.variables) else {}
            variables = await resolve_variables(conn, board, sources, time_range=tr, chosen=chosen)
            for q in board.queries():
                if q.kind != "sql" or not q.where.startswith("panel"):
                    continue
                if only and only.lower() not in f"{board.uid}: {q.where}".lower():
                    continue
                sql = expand_query(board, q, sources, variables, relative_range(end, q.time_from, tr))
                times = []
                for _ in range(repeat):
                    t = time.perf_counter()
                    try:
                        await conn.fetch(sql)
                    except asyncpg.QueryCanceledError:
                        times.append(60.0)
                        break
                    times.append(time.perf_counter() - t)
                p50, p95 = percentile(times, 0.5) * 1000, percentile(times, 0.95) * 1000
                print(f"{p50:8.1f} {p95:8.1f}  {board.uid} ({default}): {q.where}", flush=True)
                results.append((f"{board.uid}: {q.where}", p50, p95))
        return results
    finally:
        await conn.close()


KEPT_NAME = "panels-database"  # in a --keep folder: the name of the database the build filled


async def reopen(running, folder: Path) -> tuple[str, int]:
    """The database a --keep run built in ``folder``, migrated to the current migrations."""
    import asyncpg

    from consumers.db.migrate import migrate

    name = (folder / KEPT_NAME).read_text().strip()
    url = running.database_url.rsplit("/", 1)[0] + f"/{name}"
    applied = await migrate(url)
    conn = await asyncpg.connect(url)
    try:
        if applied:  # a migration that rewrote rows leaves them for autovacuum: do its work now
            say(f"applied {', '.join(applied)}; vacuum analyze")
            await conn.execute("vacuum analyze")
        return url, await conn.fetchval("select count(*) from calls")
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=7, help="copies of San Antonio's 717k calls")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--layer", default="city")
    ap.add_argument("--views", action="store_true", help="the windows as date_bin views (before issue 17)")
    kept = ap.add_mutually_exclusive_group()
    kept.add_argument("--keep", type=Path, metavar="DIR", help="build the stack in DIR and keep it for --reuse")
    kept.add_argument("--reuse", type=Path, metavar="DIR", help="measure the database a --keep run built in DIR")
    ap.add_argument("--panel", metavar="TEXT", help="only the panels whose dashboard uid or title contains TEXT")
    args = ap.parse_args()
    repeat = 3 if args.views else args.repeat
    print(machine())
    folder = args.reuse or args.keep
    if args.reuse and not (args.reuse / KEPT_NAME).exists():
        raise SystemExit(f"{args.reuse / KEPT_NAME} not found: build it first with --keep {args.reuse}")
    with embedded_stack(folder) as running:
        if args.reuse:
            url, n = asyncio.run(reopen(running, args.reuse))
        else:
            url = asyncio.run(fresh_database(running))
            n = asyncio.run(build(url, args.copies, args.views))
            if args.keep:
                (args.keep / KEPT_NAME).write_text(url.rsplit("/", 1)[1] + "\n")
        print(f"{n:,} calls; each panel {repeat} times; layer {args.layer}"
              + ("; windows as date_bin views" if args.views else "; windows as tables"))
        print(f"{'p50 ms':>8} {'p95 ms':>8}  panel")
        results = asyncio.run(measure(url, args.layer, repeat, args.views, args.panel))
        if folder:
            say(f"stack kept in {folder}: measure it again with --reuse {folder}")
    slowest = max(results, key=lambda r: r[2])
    print(f"slowest: {slowest[0]} ({slowest[2]:.0f} ms p95); "
          f"{sum(r[2] <= 100 for r in results)} of {len(results)} panels ≤ 100 ms")
    print(result_line(panels_p95_ms=f"{slowest[2]:.0f}", calls=n))


if __name__ == "__main__":
    main()
