"""Benchmark (issue 17): the store hop's database writes against a plain COPY of the same rows.

On a stack of its own, in one run: San Antonio calls are read and classified in memory (not
timed), then written twice, each time into a freshly migrated database:

  divert writer   the store hop's sink (``consumers.db.sink``, ``write_calls``) in batches of
                  5,000, as the worker writes them: staged COPY, keyed upsert, other versions
                  removed, area rows for every layer
  plain COPY      ``copy_records_to_table`` of the same call rows into ``calls``, same batches:
                  no conflict handling, no area rows — the floor of any write into that table
  schema floor    every row the writer leaves behind — the calls, their call_areas rows and the
                  metric window rows they end in (read back from the writer's database) —
                  COPYed straight into a fresh database's tables, same batches: what storing
                  this schema costs with no conflict handling and no aggregation at all
                  (floor_to_copy: the best store_to_copy this schema allows)

    .venv/bin/python -m bench.store [--rows 100000]

Ends with ``store_to_copy=R store_rows_per_s=S copy_rows_per_s=C floor_to_copy=F rows_per_call=W``.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.common import embedded_stack, fresh_database, machine, result_line, say

BATCH = 5000


def classified_calls(rows: int) -> list:
    from divert.adapters import load_adapter
    from divert.classify import Classifier
    from divert.crosswalk import load_crosswalk
    from divert.load import cad_batches
    from divert.policy import load_policy

    adapter = load_adapter("san_antonio")
    classifier = Classifier(load_crosswalk(adapter.agency), load_policy())
    calls: list = []
    for batch in cad_batches(adapter, classifier, adapter.history_files(), size=BATCH):
        calls += batch.calls
        if len(calls) >= rows:
            break
    return calls[:rows]


async def through_the_writer(url: str, calls: list) -> tuple[float, dict[str, list]]:
    """Seconds to write ``calls`` as the store hop does, and the metric window rows they left."""
    from consumers.db.migrate import migrate
    from consumers.db.sink import Database, sink_for

    await migrate(url)
    database = Database(url)
    sink = sink_for(database, "calls")
    try:
        started = time.perf_counter()
        for i in range(0, len(calls), BATCH):
            sink.add(calls[i:i + BATCH])
            assert await sink.flush() == len(calls[i:i + BATCH])
        seconds = time.perf_counter() - started
    finally:
        await database.close()
    return seconds, await _window_rows(url)


async def _window_rows(url: str) -> dict[str, list]:
    import asyncpg

    from consumers.db import metrics

    conn = await asyncpg.connect(url)
    try:
        return {metrics.table(w): [tuple(r) for r in await conn.fetch(
            f"select {', '.join(metrics.COLUMNS)} from {metrics.table(w)} order by bucket")]
            for w in metrics.WIDTHS}
    finally:
        await conn.close()


async def plain_copy(url: str, calls: list, windows: dict[str, list] | None = None) -> float:
    """Seconds to COPY the calls' rows into ``calls``, in the writer's batches; with ``windows``,
    each batch's area rows into call_areas and a like share of the window rows too (the floor)."""
    import asyncpg

    from consumers.db import metrics
    from consumers.db.migrate import migrate
    from consumers.db.writer import AREA_COLUMNS, CALL_COLUMNS, _call_arrays, _staged_rows, area_rows

    await migrate(url)
    rows = _staged_rows(_call_arrays(calls))  # encoded beforehand: only the COPY is timed
    batches = range(0, len(rows), BATCH)
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        for n, i in enumerate(batches):
            await conn.copy_records_to_table("calls", records=rows[i:i + BATCH], columns=[c for c, _ in CALL_COLUMNS])
            if windows is None:
                continue
            await conn.copy_records_to_table("call_areas", records=area_rows(calls[i:i + BATCH]),
                                             columns=AREA_COLUMNS)
            for table, window in windows.items():
                share = -(-len(window) // len(batches))
                await conn.copy_records_to_table(table, records=window[n * share:(n + 1) * share],
                                                 columns=metrics.COLUMNS)
        return time.perf_counter() - started
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    print(machine())
    say(f"classifying {args.rows:,} San Antonio calls")
    calls = classified_calls(args.rows)
    with embedded_stack() as running:
        writer_s, windows = asyncio.run(through_the_writer(asyncio.run(fresh_database(running)), calls))
        copy_s = asyncio.run(plain_copy(asyncio.run(fresh_database(running)), calls))
        floor_s = asyncio.run(plain_copy(asyncio.run(fresh_database(running)), calls, windows))
    from consumers.db.writer import area_rows

    n = len(calls)
    stored = n + len(area_rows(calls)) + sum(len(w) for w in windows.values())
    store, copy, floor = n / writer_s, n / copy_s, n / floor_s
    print(f"divert writer   {n:,} calls in {writer_s:.1f} s = {store:,.0f} rows/s (with their area rows)")
    print(f"plain COPY      {n:,} calls in {copy_s:.1f} s = {copy:,.0f} rows/s")
    print(f"schema floor    {n:,} calls in {floor_s:.1f} s = {floor:,.0f} calls/s: {stored:,} rows COPYed "
          f"({stored / n:.1f} per call: the call, its area rows, "
          + ", ".join(f"{len(w) / n:.2f} {t}" for t, w in windows.items()) + ")")
    print(result_line(store_to_copy=f"{store / copy:.2f}", store_rows_per_s=f"{store:.0f}",
                      copy_rows_per_s=f"{copy:.0f}", floor_to_copy=f"{floor / copy:.2f}",
                      rows_per_call=f"{stored / n:.1f}"))


if __name__ == "__main__":
    main()
