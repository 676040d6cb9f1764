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
        from consumers.db.sink import Database, sink_for

        self.database = Database(database_url, max_size=2)
        self.sinks = {t: sink_for(self.database, t)
                      for t in ("calls", "officer_activity", "crime_reports", "dead_letters")}

    async def write(self, batch, totals: LoadTotals) -> None:
        from divert.deadletter import dead_letter
        from divert.exceptions import InvalidRecord
        from schemas import encode

        letters = list(batch.dead_letters)
        for table, records in (("calls", batch.calls), ("officer_activity", batch.activities),
                               ("crime_reports", batch.crime_reports)):
            if not records:
                continue
            sink = self.sinks[table]
            sink.add(records)
            await sink.flush()
            for record, why in sink.take_rejected():
                totals.refused += 1
                letters.append(dead_letter(encode(record), source_topic=batch.source, agency=None,
                                           error=InvalidRecord("refused_by_database", detail=why)))
        if letters:
            self.sinks["dead_letters"].add(letters)
            await self.sinks["dead_letters"].flush()
        totals.rows += batch.rows
        totals.calls += len(batch.calls)
        totals.activities += len(batch.activities)
        totals.crime_reports += len(batch.crime_reports)
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
    await migrate(database_url)
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
            jobs.append((paths, core.crime_batches(crime, paths, start=start, end=end, size=batch_size)))
        from divert.adapters.reader import reading

        total_rows = 0
        for paths, _ in jobs:
            for p in paths:
                with reading(p):  # a file cut short or unreadable: one line naming it
                    total_rows += core.count_rows([p])
        if progress:
            progress.start(total_rows)
        with _fewer_collections():
            for _, batches in jobs:
                async for batch in _read_ahead(batches):
                    await writers.write(batch, totals)
                    if progress:
                        progress.advance(batch.rows)
    finally:
        await writers.close()
    if "surveys" in include and surveys:
        from divert.surveys.mapping import load_survey_mapping
        from divert.surveys.measures import read_measures

        async with connect(database_url) as conn:
            for name in surveys:
                measures, _ = read_measures(*load_survey_mapping(name))
                if start or end:
                    measures = [m for m in measures if (not end or m.period_start < end)
                                and (not start or m.period_end > start)]
                async with conn.transaction():
                    for i in range(0, len(measures), batch_size):
                        totals.survey_measures += await write_survey_measures(conn, measures[i:i + batch_size])
                totals.surveys.append(name)
    totals.skipped_unreadable_time = len(skipped)
    totals.seconds = time.perf_counter() - t0
    return totals
