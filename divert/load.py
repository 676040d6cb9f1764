"""History loads: a city's configured files straight into the database, no broker in between.

The records come out of the same core as the live path — the city's adapter, the stream's
``normalize_messages``, ``Classifier.classify_many``, the crime adapter — in the order a
``divert replay`` sends them (event time, stable), cut into batches. What to do with a
batch is the caller's (``divert load`` hands it to the database writers the store hop
uses), so this module stays pure: no broker, no database.

Why the same order as a replay: the writers keep the last version of an incident they see,
and a replay keeps one incident's records in file order on one partition; loading in the
same order stores the same version.

>>> from datetime import UTC, datetime
>>> rows = [{"t": "2"}, {"t": "x"}, {"t": "1"}]
>>> def at(raw):
...     if raw["t"] == "x":
...         raise InvalidRecord("bad_time")
...     return datetime(2020, 1, int(raw["t"]), tzinfo=UTC)
>>> [r["t"] for r in in_event_order(rows, at)]
['1', '2', 'x']
>>> [r["t"] for r in in_event_order(rows, at, start=datetime(2020, 1, 2, tzinfo=UTC))]
['2']
>>> [len(b) for b in batched(range(7), 3)]
[3, 3, 1]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter, itemgetter
from pathlib import Path

import msgspec

from divert.deadletter import dead_letter
from divert.exceptions import ConfigError, InvalidRecord
from divert.ingest import RawMessage, normalize_messages
from schemas import ClassifiedCall, CrimeReport, DeadLetter, OfficerActivity

DEFAULT_BATCH = 5_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_encode = msgspec.json.Encoder().encode


@dataclass
class LoadBatch:
    """One batch of canonical records from ``rows`` input rows of ``source``."""

    source: str
    rows: int = 0
    calls: list[ClassifiedCall] = field(default_factory=list)
    activities: list[OfficerActivity] = field(default_factory=list)
    crime_reports: list[CrimeReport] = field(default_factory=list)
    crime_rows: list[tuple] = field(default_factory=list)  # reports as stored rows (crime_batches(as_rows=True))
    dead_letters: list[DeadLetter] = field(default_factory=list)


def batched(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def in_event_order(rows: Iterable[dict], event_time: Callable[[dict], datetime], *,
                   start: datetime | None = None, end: datetime | None = None,
                   skipped: list[int] | None = None) -> list[dict]:
    """The rows ordered as ``divert replay`` sends them: by event time, stable; a row whose
    time cannot be read keeps its place after the row before it (and is left out, counted in
    ``skipped``, when a window is given, since it cannot be placed in one)."""
    keyed: list[tuple[datetime, int, dict]] = []
    last = _EPOCH
    for seq, raw in enumerate(rows):
        try:
            at = event_time(raw)
        except InvalidRecord:
            if start or end:
                if skipped is not None:
                    skipped.append(seq)
                continue
            at = None
        if at is not None and ((start and at < start) or (end and at >= end)):
            continue
        last = at or last
        keyed.append((last, seq, raw))
    keyed.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in keyed]


def last_per_key(items: Sequence, key: Callable) -> list:
    """One record per key, the last one, in first-seen order: a batch upsert may not touch a
    row twice, and the stream stores the later of two records with one key.

    >>> last_per_key([("a", 1), ("b", 2), ("a", 3)], key=lambda r: r[0])
    [('a', 3), ('b', 2)]
    """
    out: dict = {}
    for item in items:
        out[key(item)] = item
    return list(out.values())


def source_name(path: Path) -> str:
    """The dead letters' source topic for rows of a file: ``file:<path>``."""
    return f"file:{path}"


def cad_batches(adapter, classifier, paths: Sequence[Path], *, start: datetime | None = None,
                end: datetime | None = None, size: int = DEFAULT_BATCH,
                skipped: list[int] | None = None) -> Iterator[LoadBatch]:
    """Calls, officer activity and dead letters of a city's CAD files, a batch at a time."""
    for path in paths:
        source = source_name(path)
        rows = in_event_order(adapter.read_raw(path), adapter.event_time, start=start, end=end,
                              skipped=skipped)
        for part in batched(rows, size):
            # the stream's own normalization: each row as the JSON message a replay would send
            norm = normalize_messages(adapter, [RawMessage(_encode(r)) for r in part],
                                      source_topic=source)
            yield LoadBatch(source, rows=len(part), calls=classifier.classify_many(norm.events),
                            activities=last_per_key(norm.activities,
                                                    lambda a: (a.agency, a.activity_id, a.occurred_at)),
                            dead_letters=norm.dead_letters)


def crime_batches(adapter, paths: Sequence[Path], *, start: datetime | None = None,
                  end: datetime | None = None, size: int = DEFAULT_BATCH, as_rows: bool = False) -> Iterator[LoadBatch]:
    """Crime reports and dead letters of a city's crime files, a batch at a time (a row that
    cannot be read is dead-lettered whatever the window: its time may be what is unreadable).
    Each batch's rows are normalized a column at a time (``CrimeAdapter.normalize_chunk``): the
    reports and dead letters that ``CrimeAdapter.normalize`` gives row by row, for less.
    ``as_rows``: each report as the row the database stores, in ``LoadBatch.crime_rows``, with no
    report built (``CrimeAdapter.normalize_chunk_rows``; what a history load writes)."""
    for path in paths:
        source = source_name(path)
        for chunk in adapter.read_chunks(path, size):
            out = LoadBatch(source, rows=len(chunk.rows))
            results = adapter.normalize_chunk_rows(chunk) if as_rows else adapter.normalize_chunk(chunk)
            kept = [r for r in results if not isinstance(r, InvalidRecord)]
            if len(kept) < len(results):
                out.dead_letters = [dead_letter(json.dumps(chunk.record(row)), source_topic=source, error=r,
                                                agency=adapter.agency, rule=adapter.privacy)
                                    for row, r in zip(chunk.rows, results, strict=True) if isinstance(r, InvalidRecord)]
            key = itemgetter(1, 2, 3) if as_rows else attrgetter("agency", "report_id", "occurred_at")
            rid = itemgetter(2) if as_rows else attrgetter("report_id")
            if start or end:
                at = itemgetter(3) if as_rows else attrgetter("occurred_at")
                kept = [r for r in kept if not ((start and at(r) < start) or (end and at(r) >= end))]
            if len(set(map(rid, kept))) < len(kept):  # a report id repeated: last_per_key, without a call per report
                kept = list(dict(zip(map(key, kept), kept, strict=True)).values())
            if as_rows:
                out.crime_rows = kept
            else:
                out.crime_reports = kept
            yield out


def count_rows(paths: Sequence[Path]) -> int:
    """Data rows in the files (for a progress bar): lines after the header; quoted newlines
    make it an upper bound, which is all a progress bar needs."""
    import gzip

    total = 0
    for p in paths:
        with open(p, "rb") as probe:
            gz = probe.read(2) == b"\x1f\x8b"
        with (gzip.open(p, "rb") if gz else open(p, "rb")) as f:
            total += max(sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) - 1, 0)
    return total


def plan_sources(city: str):
    """(CAD adapter or None, crime adapter or None, survey names) configured for the city."""
    from divert.adapters import available_cities, load_adapter
    from divert.adapters.crime import available_crime_cities, load_crime_adapter
    from divert.surveys.mapping import surveys_for

    cad = load_adapter(city) if city in available_cities() else None
    crime = load_crime_adapter(city) if city in available_crime_cities() else None
    surveys = surveys_for(city)
    if cad is None and crime is None and not surveys:
        raise ConfigError(f"nothing to load for {city!r}: no reference/cities/{city}.yaml, "
                          f"reference/crime/{city}.yaml or survey mapping naming it")
    return cad, crime, surveys


__all__ = ["LoadBatch", "DEFAULT_BATCH", "batched", "in_event_order", "last_per_key", "cad_batches",
           "crime_batches", "count_rows", "source_name",
           "plan_sources"]
