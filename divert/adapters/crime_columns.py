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

A history load takes each report as the row the database stores (:meth:`ChunkNormalizer.rows`,
:func:`row_of`), zipped from the columns with no CrimeReport built: building one per row and
taking it apart again for COPY was a fifth of the normalizing. What the report's construction
checks — a UTC time, coordinates at 3 decimals — holds by construction here (the time parsers
return UTC, coordinates come from ``coordinate`` or its exact column-wise twin), and
``tests/unit/adapters/test_crime_rows.py`` builds the report of every row to prove it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import repeat
from operator import itemgetter
from typing import TYPE_CHECKING

import msgspec
import numpy as np

from divert.adapters.crime import _FALSE, _TRUE, MAX_COUNT, CrimeAdapter, _next_period
from divert.adapters.values import MAX_RAW_TEXT, MAX_TEXT, coordinate, integer
from divert.exceptions import InvalidRecord
from schemas.records import SCHEMA_VERSION, CrimeReport

if TYPE_CHECKING:
    from divert.adapters.adapter import _Column
    from divert.adapters.reader import CsvChunk

_json = msgspec.json.Encoder().encode
_areas_of = msgspec.json.Decoder(dict[str, str]).decode
_FAILED = object()  # the value cannot be read: its row takes the row path, which says why
_ABSENT = object()  # a time column without text: the next time column is read


class _Unreadable(Exception):
    """Raised by a column's reading where the row path raises InvalidRecord (no message needed:
    that row is normalized again by the row path)."""


def _read_distinct(values: list[str], text_of: Callable[[str], str | None], read: Callable[[str | None], object],
                   read_all: Callable[[list], list] | None) -> tuple[list, bool]:
    """``read(text_of(value))`` of each of ``values``, _FAILED where the row path would raise;
    ``read_all`` reads the texts at once when given. Also: whether any value failed."""
    texts = _plain_texts(values) if text_of.plain else None
    if texts is None:
        texts = []
        for value in values:
            try:
                texts.append(text_of(value))
            except InvalidRecord:
                texts.append(_FAILED)
    if read is _same:
        out = texts
    elif read_all is not None and _FAILED not in texts:
        out = read_all(texts)
    else:
        out = []
        for text in texts:
            if text is _FAILED:
                out.append(_FAILED)
                continue
            try:
                out.append(read(text))
            except (InvalidRecord, _Unreadable):
                out.append(_FAILED)
    return out, _FAILED in out


def _plain_texts(values: list[str]) -> list[str | None] | None:
    """What ``raw_text`` reads from each of ``values``, when all are printable and at most
    MAX_RAW_TEXT characters long (then it only strips them); else None."""
    if "".join(values).isprintable() and max(map(len, values), default=0) <= MAX_RAW_TEXT:
        return [value.strip() or None for value in values]
    return None


def row_of(report: CrimeReport) -> tuple:
    """A report as the row the database stores: its fields in the schema's order, the areas as
    JSON text. The chunk path builds these rows straight from its columns: every value in them
    is one the report's own checks accept (a UTC time, coordinates at 3 decimals), as
    ``tests/unit/adapters/test_crime_rows.py`` checks."""
    return (report.schema_version, report.agency, report.report_id, report.occurred_at, report.period_end,
            report.offense, report.category, report.count, report.arrest, _json(report.areas).decode(),
            report.lat, report.lon)


def report_of(row: tuple) -> CrimeReport:
    """The report a row (:func:`row_of`) stores."""
    (schema_version, agency, report_id, occurred_at, period_end, offense, category, count, arrest, areas,
     lat, lon) = row
    return CrimeReport(schema_version=schema_version, agency=agency, report_id=report_id, occurred_at=occurred_at,
                       period_end=period_end, offense=offense, category=category, count=count, arrest=arrest,
                       areas=_areas_of(areas), lat=lat, lon=lon)


class ChunkNormalizer:
    """``CrimeAdapter.normalize`` for a chunk of CSV rows, a column at a time."""

    def __init__(self, adapter: CrimeAdapter):
        self.adapter = adapter

    def normalize(self, chunk: CsvChunk) -> list[CrimeReport | InvalidRecord]:
        """One result per row of ``chunk``, in order: the report, or why the row is invalid."""
        return [r if isinstance(r, InvalidRecord) else report_of(r) for r in self.rows(chunk)]

    def rows(self, chunk: CsvChunk) -> list[tuple | InvalidRecord]:
        """One result per row of ``chunk``, in order: the report as a row (:func:`row_of`), or why
        the row is invalid."""
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

        taken: dict[int, list[str]] = {}  # a column's values, and its distinct ones, for every
        distinct_of: dict[int, list[str]] = {}  # reader of it (Chicago's beat and sector read Beat)

        def column(reader: _Column | None, read: Callable[[str | None], object],
                   read_all: Callable[[list], list] | None = None, once: bool | None = None) -> list:
            """``read`` of the reader's text for every row; ``read_all``: the same for a list of texts
            at once. ``once``: each distinct value read once (by default, unless read at once: the
            columns read at once are those whose values are mostly distinct)."""
            if reader is None:
                return [read(None)] * n
            name = next((c for c in reader.columns if c in header), None)
            if name is None:  # absent from the file: every row reads nothing
                try:
                    return [read(None)] * n
                except (InvalidRecord, _Unreadable):
                    redo.update(range(n))
                    return [_FAILED] * n
            at = chunk.column(name)
            if (values := taken.get(at)) is None:
                values = taken[at] = list(map(itemgetter(at), rows))
            if not (read_all is None if once is None else once):
                distinct = values
            elif (distinct := distinct_of.get(at)) is None:
                distinct = distinct_of[at] = list(dict.fromkeys(values))
            out, failed = _read_distinct(distinct, _text_reader(reader, name), read, read_all)
            if len(distinct) < n:
                out = list(map(dict(zip(distinct, out, strict=True)).__getitem__, values))
            if failed:
                redo.update(i for i, v in enumerate(out) if v is _FAILED)
            return out

        rids = self._report_ids(column, redo)
        offenses = column(a._offense, _required_text)
        categories = column(a._category, _same) if a._category else [None] * n
        times = self._times(column, redo)
        counts = column(a._count, _count) if a._count is not None else [1] * n
        arrests = column(a._arrest, _arrest) if a._arrest is not None else [None] * n
        lats = column(a._lat, _LATITUDE.one, _LATITUDE.all) if a._lat else [None] * n
        lons = column(a._lon, _LONGITUDE.one, _LONGITUDE.all) if a._lon else [None] * n
        areas = self._areas(column, lats, lons, n)
        if a.mapping.period == "none":
            ends = [None] * n
        else:
            period, tz = a.mapping.period, a.mapping.timezone
            end_of = {at: _next_period(at, period, tz) for at in dict.fromkeys(times) if at is not _FAILED}
            ends = [end_of.get(at) for at in times]
        lats, lons = ([lat if lon is not None else None for lat, lon in zip(lats, lons, strict=True)],
                      [lon if lat is not None else None for lat, lon in zip(lats, lons, strict=True)])
        categories = [category or offense for category, offense in zip(categories, offenses, strict=True)]
        results: list = list(zip(repeat(SCHEMA_VERSION, n), repeat(a.agency, n), rids, times, ends, offenses,
                                 categories, counts, arrests, areas, lats, lons, strict=True))
        for i in redo:
            results[i] = self._row_path(chunk, i)
        return results

    def _areas(self, column, lats: list, lons: list, n: int) -> list:
        """Each row's areas as JSON text: the agency's codes by layer (each distinct combination
        encoded once), with the point's polygons merged in where the city places points."""
        a = self.adapter
        layers = [layer for layer, _ in a._areas]
        placed = list(zip(*[column(reader, _same) for _, reader in a._areas], strict=True)) if layers else [()] * n
        codes = {p: {k: v for k, v in zip(layers, p, strict=True) if v is not None}
                 for p in dict.fromkeys(placed) if _FAILED not in p}
        index = a._area_index
        if index is None:
            text = {p: _json(areas).decode() for p, areas in codes.items()}
            return [text.get(p) for p in placed]
        return [_json(index.merge(codes[p], lat, lon) if lat is not None and lon is not None else codes[p]).decode()
                if p in codes and lat is not _FAILED and lon is not _FAILED else None
                for p, lat, lon in zip(placed, lats, lons, strict=True)]

    def _row_path(self, chunk: CsvChunk, i: int) -> tuple | InvalidRecord:
        try:
            return row_of(self.adapter.normalize(chunk.record(chunk.rows[i])))
        except InvalidRecord as err:
            return err

    def _report_ids(self, column, redo: set[int]) -> list:
        a = self.adapter
        if a._id is not None:
            return column(a._id, _required_text, _all_required_text)
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

            def read_all(texts):  # ``read`` of each, with no call around each parse
                out = []
                for text in texts:
                    if text is None:
                        out.append(_FAILED if only else _ABSENT)
                        continue
                    try:
                        out.append(parse(text))
                    except (ValueError, OverflowError, OSError):
                        out.append(_FAILED)
                return out
            return read, read_all

        per_column = [column(reader, *read_with(parse), once=True) for reader, parse in self.adapter._times]
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
    own path for it), with no row built around it: IDs and coordinates are mostly distinct.
    ``plain``: whether that holds (:func:`_plain_texts` then reads a whole column at once)."""
    def whole(value: str) -> str | None:
        return reader.get({name: value}, None)

    if reader.strip is not None or reader.regex is not None or reader.template is not None:
        whole.plain = False
        return whole  # reshaped: the reader remembers its few distinct values itself

    def plain(value: str) -> str | None:
        if len(value) <= MAX_RAW_TEXT and value.isprintable():
            return value.strip() or None
        return whole(value)

    plain.plain = True
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


def _all_required_text(texts: list[str | None]) -> list:
    if None not in texts and max(map(len, texts), default=0) <= MAX_TEXT:
        return texts
    return [text if text is not None and len(text) <= MAX_TEXT else _FAILED for text in texts]


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


class _Coordinates:
    """``values.coordinate`` of a column's texts, rounded to 3 decimals by numpy at once.

    Python's ``round(x, 3)`` is the double nearest the decimal that x rounds to. Where x·1000 is
    not within 0.0001 of a half, that decimal is k/1000 with k the integer nearest x·1000 (the
    product's own rounding error is below 1e-10 for any coordinate), and k / 1000 in floating point
    is the double nearest to it: the same value. The rest — near a half, out of range, not a
    number, 0 — are read by ``coordinate`` itself (``tests/unit/adapters/test_crime_coordinates.py``).
    """

    def __init__(self, low: float, high: float):
        self.low, self.high = low, high

    def one(self, text: str | None) -> float | None:
        return coordinate(text, self.low, self.high)

    def all(self, texts: list[str | None]) -> list[float | None]:
        nan = math.nan
        try:
            values = np.array([nan if t is None else float(t) for t in texts], dtype=np.float64)
        except ValueError:
            return [coordinate(t, self.low, self.high) for t in texts]
        with np.errstate(invalid="ignore", over="ignore"):  # NaN and huge values: read by coordinate
            thousandths = values * 1000.0
            nearest = np.rint(thousandths)
            rounded = nearest / 1000.0
            exact = ((values >= self.low) & (values <= self.high) & (np.abs(thousandths - nearest) < 0.4999)
                     & (rounded != 0.0))
        out = rounded.tolist()
        for i in np.flatnonzero(~exact).tolist():
            out[i] = coordinate(texts[i], self.low, self.high)
        return out


_LATITUDE = _Coordinates(-90.0, 90.0)
_LONGITUDE = _Coordinates(-180.0, 180.0)
