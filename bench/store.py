"""Benchmark (issue 17): the store hop's database writes against a plain COPY of the same rows.

On a stack of its own, in one run: San Antonio calls are read and classified in memory (not
timed), then written twice, each time into a freshly migrated database:

  divert writer   the store hop's sink (``consumers.db.sink``, ``write_calls``) in batches of
                  5,000, as the worker writes them: staged COPY, keyed upsert, other versions
                  removed, area rows for every layer
  plain COPY      ``copy_records_to_table`` of the same call rows into ``calls``, same batches:
                  no conflict handling, no area rows — the floor of any write into that table

    .venv/bin/python -m bench.store [--rows 100000]

Ends with ``store_to_copy=R store_rows_per_s=S copy_rows_per_s=C``.
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


async def through_the_writer(url: str, calls: list) -> float:
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
        return time.perf_counter() - started
    finally:
        await database.close()


async def plain_copy(url: str, calls: list) -> float:
    import asyncpg

    from consumers.db.migrate import migrate
    from consumers.db.writer import CALL_COLUMNS, SEPARATOR, _call_arrays

    await migrate(url)
    names = [c for c, _ in CALL_COLUMNS]
    arrays = _call_arrays(calls)  # encoded beforehand: only the COPY is timed
    at = names.index("reasons")
    arrays[at] = [v.split(SEPARATOR) if v else [] for v in arrays[at]]
    rows = list(zip(*arrays, strict=True))
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            await conn.copy_records_to_table("calls", records=rows[i:i + BATCH], columns=names)
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
        writer_s = asyncio.run(through_the_writer(asyncio.run(fresh_database(running)), calls))
        copy_s = asyncio.run(plain_copy(asyncio.run(fresh_database(running)), calls))
    store, copy = len(calls) / writer_s, len(calls) / copy_s
    print(f"divert writer   {len(calls):,} calls in {writer_s:.1f} s = {store:,.0f} rows/s (with their area rows)")
    print(f"plain COPY      {len(calls):,} calls in {copy_s:.1f} s = {copy:,.0f} rows/s")
    print(result_line(store_to_copy=f"{store / copy:.2f}", store_rows_per_s=f"{store:.0f}",
                      copy_rows_per_s=f"{copy:.0f}"))


if __name__ == "__main__":
    main()
