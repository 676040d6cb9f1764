"""Dashboard panel latency against the database the stack uses (run after loading a city).

Baseline, in the same process: ``select count(*) from call_areas`` (one pass over the table
every metric view reads). Printed per panel: the best of 3 runs in ms and its ratio to the
baseline, with Grafana's expansion for the whole stored period and the default variables
(city = the first agency, layer 'city', area and route All).

    DIVERT_DATABASE_URL=... .venv/bin/python bench/panels.py [--layer substation]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg

from divert.dashboards.check import expand_query
from consumers.db.sources.dashboards import resolve_variables
from divert.dashboards.macros import TimeRange
from divert.dashboards.model import load_dashboards, load_datasources, relative_range
from divert.settings import services


async def best(conn, sql: str, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        await conn.fetch(sql)
        times.append(time.perf_counter() - t)
    return min(times)


async def main(layer: str) -> None:
    conn = await asyncpg.connect(services().database_url)
    try:
        lo, hi, n = await conn.fetchrow("select min(received_at), max(received_at), count(*) from calls")
        tr = TimeRange(lo, hi)
        baseline = await best(conn, "select count(*) from call_areas")
        print(f"{n:,} calls; baseline count(*) over call_areas: {baseline * 1000:.0f} ms")
        sources = load_datasources()
        for board in load_dashboards():
            variables = await resolve_variables(conn, board, sources, time_range=tr, chosen={"layer": layer}
                                                if any(v["name"] == "layer" for v in board.variables) else {})
            for q in board.queries():
                if q.kind != "sql" or not q.where.startswith("panel"):
                    continue
                sql = expand_query(board, q, sources, variables, relative_range(tr.end, q.time_from, tr))
                s = await best(conn, sql)
                print(f"{s * 1000:8.0f} ms  {s / baseline:6.1f}x  {board.uid}: {q.where}")
    finally:
        await conn.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--layer", default="city")
    asyncio.run(main(ap.parse_args().layer))
