"""`divert load` of Chicago's history (both crime files and the survey) against a plain COPY.

Baseline, same process, same database server, same run: every raw row of the two crime files
read with the same CSV reader and copied as text into a scratch table with asyncpg's
``copy_records_to_table`` — the fastest a row can get into PostgreSQL, with no parsing,
classification, keys or conflicts. Then ``divert load --city chicago`` (crime reports through
the crime adapter and the keyed upsert writer, plus the survey's measures) into a fresh
database. Printed: seconds, rows per second, and the load's rate as a share of COPY's; the last
line is ``load_to_copy=R`` (issue 17: ≥ 0.5).

    .venv/bin/python -m bench.load [--database-url URL]   # default: a stack of its own
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from bench.common import embedded_stack, fresh_database, machine, result_line, say


async def copy_baseline(database_url: str, paths) -> tuple[int, float]:
    import asyncpg

    from divert.adapters.reader import read_csv

    conn = await asyncpg.connect(database_url)
    try:
        started = time.perf_counter()
        rows = 0
        for i, path in enumerate(paths):
            records = read_csv(path)
            first = next(records)
            columns = [f"c{j}" for j in range(len(first))]
            table = f"scratch_copy_{i}"
            await conn.execute(f"drop table if exists {table}; create table {table} "
                               f"({', '.join(c + ' text' for c in columns)})")
            batch = [tuple(first.values())]
            for r in records:
                batch.append(tuple(r.values())[:len(columns)])
                if len(batch) >= 50_000:
                    await conn.copy_records_to_table(table, records=batch, columns=columns)
                    rows += len(batch)
                    batch = []
            await conn.copy_records_to_table(table, records=batch, columns=columns)
            rows += len(batch)
        return rows, time.perf_counter() - started
    finally:
        await conn.close()


class ServerCpu:
    """CPU seconds the PostgreSQL server listening on ``database_url``'s port has used (the postmaster,
    its live backends and those that have exited), when it runs on this machine; else None."""

    def __init__(self, database_url: str):
        from urllib.parse import urlsplit

        import psutil

        port = urlsplit(database_url).port or 5432
        pids = {c.pid for c in psutil.net_connections(kind="tcp")
                if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid}
        self.postmaster = psutil.Process(pids.pop()) if len(pids) == 1 else None

    def seconds(self) -> float | None:
        import psutil

        if self.postmaster is None:
            return None
        time.sleep(0.3)  # backends of closed connections exit and are reaped into children_*
        t = self.postmaster.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in self.postmaster.children():
            try:
                c = child.cpu_times()
                total += c.user + c.system
            except psutil.NoSuchProcess:
                pass
        return total


def _cpu_line(what: str, rows: int, python_s: float, server: tuple[float | None, float | None]) -> str:
    """CPU per row: this process's (Python, both threads) and the server's, in microseconds."""
    server_us = (f"{1e6 * (server[1] - server[0]) / rows:.1f}" if None not in server else "?")
    return f"{what}: CPU per row {1e6 * python_s / rows:.1f} µs in Python + {server_us} µs in the server"


def run(database_url: str | None) -> None:
    from consumers.db.history import run_load
    from divert.adapters.crime import load_crime_adapter

    paths = load_crime_adapter("chicago").history_files()

    def measure(server_url: str, fresh) -> None:
        server = ServerCpu(server_url)
        base_db = asyncio.run(fresh())
        say("baseline: COPY of the raw rows")
        load_before = os.getloadavg()[0]
        cpu_0, server_0 = time.process_time(), server.seconds()
        copy_rows, copy_s = asyncio.run(copy_baseline(base_db, paths))
        cpu_1, server_1 = time.process_time(), server.seconds()
        load_between = os.getloadavg()[0]
        load_db = asyncio.run(fresh())
        say("divert load --city chicago")
        cpu_2, server_2 = time.process_time(), server.seconds()
        totals = asyncio.run(run_load(load_db, "chicago"))
        cpu_3, server_3 = time.process_time(), server.seconds()
        load_after = os.getloadavg()[0]
        again_started = time.perf_counter()
        say("divert load again (idempotent: nothing changes)")
        asyncio.run(run_load(load_db, "chicago", include=("crime",)))
        again_s = time.perf_counter() - again_started
        copy_rate, load_rate = copy_rows / copy_s, totals.rows / totals.seconds
        print(f"machine: {machine()}; 1-minute load average {load_before:.1f} (COPY) → {load_between:.1f} "
              f"(load) → {load_after:.1f}: above ~2 the rates are depressed, unevenly")
        print(f"COPY baseline: {copy_rows:,} raw rows in {copy_s:.1f} s = {copy_rate:,.0f} rows/s")
        print(f"divert load chicago: {totals.rows:,} crime rows + {totals.survey_measures:,} survey measures "
              f"in {totals.seconds:.1f} s = {load_rate:,.0f} rows/s "
              f"({load_rate / copy_rate:.2f}× COPY's rate; {totals.dead_letters} dead letters)")
        print(f"second load of the same crime files: {again_s:.1f} s")
        print(_cpu_line("COPY baseline", copy_rows, cpu_1 - cpu_0, (server_0, server_1)))
        print(_cpu_line("divert load (crime rows and survey measures, per crime row)", totals.rows,
                        cpu_3 - cpu_2, (server_2, server_3)))
        print(result_line(load_to_copy=f"{load_rate / copy_rate:.2f}", load_rows_per_s=f"{load_rate:.0f}",
                          copy_rows_per_s=f"{copy_rate:.0f}"))

    if database_url:
        async def fresh_here() -> str:
            class _Running:
                pass
            r = _Running()
            r.database_url = database_url
            return await fresh_database(r)
        measure(database_url, fresh_here)
    else:
        with embedded_stack() as running:
            measure(running.database_url, lambda: fresh_database(running))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server to create scratch databases on")
    args = parser.parse_args()
    run(args.database_url)


if __name__ == "__main__":
    main()
