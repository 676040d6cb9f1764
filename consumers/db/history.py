"""A city's history into the database, no broker in between (``divert load``, ``divert crime load``).

The batches come from the pure core (:mod:`divert.load`), in the order a replay sends them;
they are written by the store hop's own sinks, so the stored rows, the dead letters for rows the
database refuses, and every metric window are the ones the stream gives.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from consumers.db.connection import connect


@dataclass
class LoadTotals:
    rows: int = 0
    calls: int = 0
    activities: int = 0
    crime_reports: int = 0
    dead_letters: int = 0
    refused: int = 0
    survey_measures: int = 0
    surveys: list[str] = field(default_factory=list)
    skipped_unreadable_time: int = 0
    seconds: float = 0.0


class HistoryWriters:
    """The store hop's table sinks over one pool: a batch the database refuses is written one
    record at a time and the refused records become dead letters with the database's reason,
    exactly as in the stream."""

    def __init__(self, database_url: str):
        from consumers.db.sink import Database, TableSink, sink_for
        from consumers.db.writer import write_crime_rows

        self.database = Database(database_url, max_size=2)
        self.sinks = {t: sink_for(self.database, t)
                      for t in ("calls", "officer_activity", "crime_reports", "dead_letters")}
        # crime reports as the rows the table stores (crime_batches(as_rows=True)): no report built
        self.crime_rows = TableSink(self.database, "crime_reports", write_crime_rows)

    async def write(self, batch, totals: LoadTotals) -> None:
        from divert.adapters.crime_columns import report_of
        from divert.deadletter import refused
        from schemas import encode

        letters = list(batch.dead_letters)
        for sink, records, as_record in ((self.sinks["calls"], batch.calls, None),
                                         (self.sinks["officer_activity"], batch.activities, None),
                                         (self.sinks["crime_reports"], batch.crime_reports, None),
                                         (self.crime_rows, batch.crime_rows, report_of)):
            if not records:
                continue
            sink.add(records)
            await sink.flush()
            for record, why in sink.take_rejected():
                totals.refused += 1
                record = as_record(record) if as_record else record
                letters.append(refused(record, encode(record), why, source_topic=batch.source))
        if letters:
            self.sinks["dead_letters"].add(letters)
            await self.sinks["dead_letters"].flush()
        totals.rows += batch.rows
        totals.calls += len(batch.calls)
        totals.activities += len(batch.activities)
        totals.crime_reports += len(batch.crime_reports) + len(batch.crime_rows)
        totals.dead_letters += len(letters)

    async def close(self) -> None:
        await self.database.close()


_SURVEY_COLUMNS = ("survey", "agency", "item", "measure", "layer", "area", "period_start", "period_end",
                   "estimate", "scale", "moe", "n", "n_effective", "suppressed", "note")


async def write_survey_measures(conn, measures) -> int:
    """Upsert survey measures on (survey, item, layer, area, period); unchanged rows stay as they are."""
    if not measures:
        return 0
    rows = [tuple(getattr(m, c) for c in _SURVEY_COLUMNS) for m in measures]
    cols = list(zip(*rows, strict=True))
    types = ("text", "text", "text", "text", "text", "text", "timestamptz", "timestamptz", "float8", "text",
             "float8", "int", "float8", "text", "text")
    names = ", ".join(_SURVEY_COLUMNS)
    arrays = ", ".join(f"${i}::{t}[]" for i, t in enumerate(types, 1))
    updates = ", ".join(f"{c} = excluded.{c}" for c in _SURVEY_COLUMNS[3:] if c not in ("period_start", "period_end"))
    changed = " or ".join(f"survey_measures.{c} is distinct from excluded.{c}" for c in _SURVEY_COLUMNS[3:]
                          if c not in ("layer", "area", "period_start", "period_end"))
    await conn.execute(
        f"insert into survey_measures ({names}) select * from unnest({arrays}) "
        f"on conflict (survey, item, layer, area, period_start, period_end) do update set {updates}, "
        f"loaded_at = now() where {changed}", *[list(c) for c in cols])
    return len(rows)


@contextmanager
def _fewer_collections():
    """Python's cyclic garbage collector runs after every 700 net allocations of containers; a
    load allocates millions (rows, reports, their areas), none of them in a reference cycle, all
    freed by reference counting, and the collections — each walking the batches being built —
    took 10-25% of a crime load's Python time. They run every 100,000 here, as before after."""
    threshold = gc.get_threshold()
    gc.set_threshold(100_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


async def _read_ahead(batches: Iterator):
    """The batches, the next one read and normalized in a thread while the database writes this
    one: reading is Python work and writing mostly the server's, so the two overlap on two cores."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1, thread_name_prefix="divert-load-read") as reader:
        upcoming = loop.run_in_executor(reader, next, batches, None)
        while (batch := await upcoming) is not None:
            upcoming = loop.run_in_executor(reader, next, batches, None)
            yield batch


def _count_rows(paths: list[Path]) -> int:
    from divert import load as core
    from divert.adapters.reader import reading

    total = 0
    for p in paths:
        with reading(p):  # a file cut short or unreadable: one line naming it
            total += core.count_rows([p])
    return total


class _CountedProgress:
    """The caller's progress bar, started once the rows are counted (meanwhile, in a thread): the
    rows loaded before that are shown at its start."""

    def __init__(self, progress, counting: asyncio.Future):
        self.progress, self.counting = progress, counting
        self.started, self.pending = False, 0

    def advance(self, n: int) -> None:
        if not self.started:
            if not self.counting.done():
                self.pending += n
                return
            self.progress.start(self.counting.result())
            self.started, n, self.pending = True, n + self.pending, 0
        self.progress.advance(n)

    async def counted(self) -> None:
        """Wait for the count (a file it cannot read raises here) and show what it waited for."""
        await self.counting
        self.advance(0)


def _read_surveys(names: list[str]) -> list[tuple[str, list]]:
    from divert.surveys.mapping import load_survey_mapping
    from divert.surveys.measures import read_measures

    return [(name, read_measures(*load_survey_mapping(name))[0]) for name in names]


async def _write_surveys(database_url: str, measures_read: asyncio.Future, start, end, batch_size: int,
                         totals: LoadTotals) -> None:
    async with connect(database_url) as conn:
        for name, measures in await measures_read:
            if start or end:
                measures = [m for m in measures if (not end or m.period_start < end)
                            and (not start or m.period_end > start)]
            async with conn.transaction():
                for i in range(0, len(measures), batch_size):
                    totals.survey_measures += await write_survey_measures(conn, measures[i:i + batch_size])
            totals.surveys.append(name)


async def run_load(database_url: str, city: str, *, start=None, end=None, batch_size: int = 5000,
                   cad_input: Path | None = None, crime_input: Path | None = None,
                   include: tuple[str, ...] = ("calls", "crime", "surveys"),
                   progress=None) -> LoadTotals:
    """Load everything configured for ``city`` (or the given files); return what was stored."""
    from consumers.db.migrate import migrate
    from divert import load as core

    cad, crime, surveys = core.plan_sources(city)
    totals = LoadTotals()
    t0 = time.perf_counter()
    # Beside the batches, in threads of their own: the surveys' measures are read, and the files'
    # rows counted for the progress bar (zlib decompresses with the GIL released). Both came before
    # the batches, and the surveys' writes after them: 2.5 s of Chicago's 15 s load, while the
    # batches leave Python idle whenever the database writes.
    side = ThreadPoolExecutor(2, thread_name_prefix="divert-load-side")
    loop = asyncio.get_running_loop()
    measures_read = (loop.run_in_executor(side, _read_surveys, surveys)
                     if "surveys" in include and surveys else None)
    await migrate(database_url)
    # written as soon as read, on a connection of their own: the database has room beside the batches
    surveys_written = (asyncio.create_task(_write_surveys(database_url, measures_read, start, end, batch_size,
                                                          totals)) if measures_read is not None else None)
    writers = HistoryWriters(database_url)
    skipped: list[int] = []
    try:
        jobs = []
        if cad is not None and "calls" in include:
            from divert.classify import Classifier
            from divert.crosswalk import load_crosswalk
            from divert.policy import load_policy

            paths = [cad_input] if cad_input else cad.history_files()
            classifier = Classifier(load_crosswalk(cad.agency), load_policy())
            jobs.append((paths, core.cad_batches(cad, classifier, paths, start=start, end=end,
                                                 size=batch_size, skipped=skipped)))
        if crime is not None and "crime" in include:
            paths = [crime_input] if crime_input else crime.history_files()
            jobs.append((paths, core.crime_batches(crime, paths, start=start, end=end, size=batch_size,
                                                   as_rows=True)))
        if progress:
            progress = _CountedProgress(progress, loop.run_in_executor(
                side, _count_rows, [p for paths, _ in jobs for p in paths]))
        with _fewer_collections():
            for _, batches in jobs:
                async for batch in _read_ahead(batches):
                    await writers.write(batch, totals)
                    if progress:
                        progress.advance(batch.rows)
        if progress:
            await progress.counted()
    except BaseException:
        if surveys_written is not None:
            surveys_written.cancel()
        raise
    finally:
        side.shutdown(wait=False)
        await writers.close()
    if surveys_written is not None:
        await surveys_written
    totals.skipped_unreadable_time = len(skipped)
    totals.seconds = time.perf_counter() - t0
    return totals
