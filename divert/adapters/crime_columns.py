"""Crime rows normalized a column at a time: each distinct value of a chunk read once.

:meth:`CrimeAdapter.normalize <divert.adapters.crime.CrimeAdapter.normalize>` reads a row at a
time, and a history load of Chicago spends most of its Python time there. Yet every field is a
function of its own column's value (the report id, offence, code, arrest flag, each coordinate,
each area, the time), and most columns repeat: Chicago's 498k rows hold 32 offences, 340 codes,
274 beats and 223k distinct times. So a chunk of rows (:class:`~divert.adapters.reader.CsvChunk`)
is read column by column with the adapter's own field readers, once per distinct value of the
chunk, and each row is assembled from its columns' results.

A row is handed to ``CrimeAdapter.normalize`` itself when any of its values cannot be read, or
when it is shorter or longer than the header: its dead letter then has exactly the reason, field
and detail the row path gives. Every other row gets the report that path gives, field for field
(``tests/unit/adapters/test_crime_columns.py`` compares them on real rows and on broken ones).
Results are kept for one chunk only, so nothing grows with the values a file holds.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import TYPE_CHECKING

from divert.adapters.crime import _FALSE, _TRUE, MAX_COUNT, CrimeAdapter, _next_period
from divert.adapters.values import MAX_RAW_TEXT, MAX_TEXT, coordinate, integer
from divert.exceptions import InvalidRecord
from schemas.records import CrimeReport

if TYPE_CHECKING:
    from divert.adapters.adapter import _Column
    from divert.adapters.reader import CsvChunk

_FAILED = object()  # the value cannot be read: its row takes the row path, which says why
_ABSENT = object()  # a time column without text: the next time column is read


class _Unreadable(Exception):
    """Raised by a column's reading where the row path raises InvalidRecord (no message needed:
    that row is normalized again by the row path)."""


def _each_distinct(values: list[str], read: Callable[[str], object]) -> tuple[list, bool]:
    """``read`` of every value, called once per distinct value; _FAILED where the row path would
    raise. Also: whether any value failed."""
    results: dict[str, object] = {}
    failed = False
    for value in dict.fromkeys(values):
        try:
            results[value] = read(value)
        except (InvalidRecord, _Unreadable):
            results[value] = _FAILED
            failed = True
    return list(map(results.__getitem__, values)), failed


class ChunkNormalizer:
    """``CrimeAdapter.normalize`` for a chunk of CSV rows, a column at a time."""

    def __init__(self, adapter: CrimeAdapter):
        self.adapter = adapter

    def normalize(self, chunk: CsvChunk) -> list[CrimeReport | InvalidRecord]:
        """One result per row of ``chunk``, in order: the report, or why the row is invalid."""
        a = self.adapter
        header, rows = chunk
        n = len(rows)
        if not n:
            return []
        width = len(header)
        redo: set[int] = set()  # rows the row path normalizes
        if len(set(map(len, rows))) != 1 or len(rows[0]) != width:
            redo.update(i for i, row in enumerate(rows) if len(row) != width)
            blank = [""] * width
            rows = [blank if i in redo else row for i, row in enumerate(rows)]

        def column(reader: _Column | None, read: Callable[[str | None], object]) -> list:
            """``read`` of the reader's text for every row (its column's value read once)."""
            if reader is None:
                return [read(None)] * n
            name = next((c for c in reader.columns if c in header), None)
            if name is None:  # absent from the file: every row reads nothing
                try:
                    return [read(None)] * n
                except (InvalidRecord, _Unreadable):
                    redo.update(range(n))
                    return [_FAILED] * n
            values = list(map(itemgetter(chunk.column(name)), rows))
            text_of = _text_reader(reader, name)
            out, failed = _each_distinct(values, text_of if read is _same else lambda v: read(text_of(v)))
            if failed:
                redo.update(i for i, v in enumerate(out) if v is _FAILED)
            return out

        rids = self._report_ids(column, redo)
        offenses = column(a._offense, _required_text)
        categories = column(a._category, _same) if a._category else [None] * n
        times = self._times(column, redo)
        counts = column(a._count, _count) if a._count is not None else [1] * n
        arrests = column(a._arrest, _arrest) if a._arrest is not None else [None] * n
        lats = column(a._lat, lambda t: coordinate(t, -90.0, 90.0)) if a._lat else [None] * n
        lons = column(a._lon, lambda t: coordinate(t, -180.0, 180.0)) if a._lon else [None] * n
        layers = [layer for layer, _ in a._areas]
        per_layer = [column(reader, _same) for _, reader in a._areas]
        areas_of: dict[tuple, dict[str, str]] = {}
        index = a._area_index
        period, tz = a.mapping.period, a.mapping.timezone
        agency = a.agency
        ends: dict = {}

        results: list[CrimeReport | InvalidRecord] = []
        for i, (rid, offense, category, at, count, arrest, lat, lon, placed) in enumerate(zip(
                rids, offenses, categories, times, counts, arrests, lats, lons,
                zip(*per_layer, strict=True) if per_layer else [()] * n, strict=True)):
            if i in redo:
                results.append(self._row_path(chunk, i))
                continue
            if lat is None or lon is None:
                lat = lon = None
            if (areas := areas_of.get(placed)) is None:
                areas = areas_of[placed] = {k: v for k, v in zip(layers, placed, strict=True) if v is not None}
            areas = dict(areas)  # each report its own
            if index is not None and lat is not None:
                areas = index.merge(areas, lat, lon)
            period_end = None
            if period != "none":
                if (period_end := ends.get(at)) is None:
                    period_end = ends[at] = _next_period(at, period, tz)
            results.append(CrimeReport(
                agency=agency, report_id=rid, occurred_at=at, period_end=period_end, offense=offense,
                category=category or offense, count=count, arrest=arrest, areas=areas, lat=lat, lon=lon))
        return results

    def _row_path(self, chunk: CsvChunk, i: int) -> CrimeReport | InvalidRecord:
        try:
            return self.adapter.normalize(chunk.record(chunk.rows[i]))
        except InvalidRecord as err:
            return err

    def _report_ids(self, column, redo: set[int]) -> list:
        a = self.adapter
        if a._id is not None:
            return column(a._id, _required_text)
        parts = [column(reader, _required) for reader in a._id_from]
        rids = []
        for i, values in enumerate(zip(*parts, strict=True)):
            if i in redo:
                rids.append(_FAILED)
                continue
            rid = ":".join(values)
            if len(rid) > MAX_TEXT:
                redo.add(i)
            rids.append(rid)
        return rids

    def _times(self, column, redo: set[int]) -> list:
        """The first time column with text, parsed (a row with none is normalized by the row path)."""
        only = len(self.adapter._times) == 1

        def read_with(parse):
            # each distinct value is parsed once here: the parser's own cache of recent values
            # (functools.lru_cache) would only be looked up in vain
            parse = getattr(parse, "__wrapped__", parse)

            def read(text):
                if text is None:
                    if only:
                        raise _Unreadable
                    return _ABSENT
                try:
                    return parse(text)
                except (ValueError, OverflowError, OSError) as exc:
                    raise _Unreadable from exc
            return read

        per_column = [column(reader, read_with(parse)) for reader, parse in self.adapter._times]
        if only:
            return per_column[0]
        times = []
        for i, candidates in enumerate(zip(*per_column, strict=True)):
            at = next((c for c in candidates if c is not _ABSENT), _FAILED)
            if at is _FAILED:
                redo.add(i)
            times.append(at)
        return times


def _text_reader(reader: _Column, name: str) -> Callable[[str], str | None]:
    """What ``reader.get`` reads from a row whose column ``name`` holds a value. A printable value
    of at most MAX_RAW_TEXT characters, read with no reshaping, is only stripped (``raw_text``'s
    own path for it), with no row built around it: IDs and coordinates are mostly distinct."""
    def whole(value: str) -> str | None:
        return reader.get({name: value}, None)

    if reader.strip is not None or reader.regex is not None or reader.template is not None:
        return whole  # reshaped: the reader remembers its few distinct values itself

    def plain(value: str) -> str | None:
        if len(value) <= MAX_RAW_TEXT and value.isprintable():
            return value.strip() or None
        return whole(value)

    return plain


def _same(text: str | None) -> str | None:
    return text


def _required(text: str | None) -> str:
    if text is None:
        raise _Unreadable
    return text


def _required_text(text: str | None) -> str:
    if text is None or len(text) > MAX_TEXT:
        raise _Unreadable
    return text


def _count(text: str | None) -> int:
    if text is None:
        raise _Unreadable
    try:
        count = integer(text)
    except (ValueError, OverflowError) as exc:
        raise _Unreadable from exc
    if not 0 <= count <= MAX_COUNT:
        raise _Unreadable
    return count


def _arrest(text: str | None) -> bool | None:
    if text is None:
        return None
    low = text.lower()
    return True if low in _TRUE else False if low in _FALSE else None
