"""Crime adapters: a city's crime export (single reports or published counts) -> CrimeReport.

Like the CAD adapters, a crime adapter is data: ``reference/crime/<city>.yaml`` names the
columns (see ``reference/crime/README.md``). Two shapes of export are covered:

* **incident rows** (one reported offence per row, ``count`` absent = 1): Chicago's crimes;
* **published counts** (``count`` names a column) over a ``period`` of a day, month or year:
  Seattle's aggregate by beat and year, where each row becomes one CrimeReport with
  ``occurred_at`` = the period's first local midnight and ``period_end`` = the next one.

A harm weight per offence (or category) may be given in the mapping (``harm_weights``), so
burden can be reported harm-weighted; it is never applied silently (the report says so).

>>> adapter = load_crime_adapter("seattle")
>>> r = adapter.normalize({"Year": "2010", "BEAT": "C3", "Crime Group": "Person Crime",
...                        "Crime Category": "Robbery", "crime_counts": "12"})
>>> r.report_id, r.count, r.occurred_at.isoformat(), r.period_end.isoformat(), r.areas
('2010:C3:Robbery', 12, '2010-01-01T08:00:00+00:00', '2011-01-01T08:00:00+00:00', {'beat': 'C3'})
>>> adapter.normalize({"Year": "2010", "BEAT": "C3", "Crime Group": "Person Crime",
...                    "Crime Category": "Robbery", "crime_counts": "-1"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
divert.exceptions.InvalidRecord: record 2010:C3:Robbery: field 'crime_counts': crime_counts: -1 is outside 0..100000000
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Literal

import msgspec

from divert import reference
from divert.adapters.adapter import _Column, field_reader
from divert.adapters.mapping import FieldSpec, Spec, TimeSpec, as_field_spec, as_time_specs, is_private
from divert.adapters.reader import CsvChunk, read_csv, read_csv_chunks, resolve_history
from divert.adapters.times import time_parser, zone
from divert.adapters.values import (
    BAD_TIME,
    MAX_TEXT,
    MISSING,
    NOT_AN_OBJECT,
    NOT_INTEGER,
    OUT_OF_RANGE,
    TOO_LONG,
    clip,
    coordinate,
    integer,
)
from divert.exceptions import ConfigError, InvalidRecord
from divert.paths import shared_data_dir
from schemas.records import AreaLayer, CrimeReport, check_area_layers

Period = Literal["none", "day", "month", "year"]
MAX_COUNT = 100_000_000
_TRUE = frozenset({"true", "t", "y", "yes", "1"})
_FALSE = frozenset({"false", "f", "n", "no", "0"})


class CrimeFields(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    offense: Spec
    category: Spec | None = None          # defaults to the offence
    report_id: Spec | None = None         # one id column, or ...
    report_id_from: list[str] = []        # ... the columns whose values, joined by ":", make the id
    count: Spec | None = None             # published counts; absent = one offence per row
    arrest: Spec | None = None            # true/false, Y/N, yes/no, 1/0
    lat: Spec | None = None
    lon: Spec | None = None


class CrimeMapping(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    timezone: str
    fields: CrimeFields
    occurred_at: TimeSpec | list[TimeSpec]
    agency: str | None = None
    description: str = ""
    history: list[str] = []
    period: Period = "none"
    areas: dict[AreaLayer, Spec] = {}
    area_layers: str | None = None        # reference/areas/<name>.yaml: place points in polygons
    # offence (or category) -> harm weight; offences not listed weigh `harm_default`
    harm_weights: dict[str, float] = {}
    harm_default: float = 1.0
    harm_source: str = ""                 # where the weights come from, shown in reports
    private_columns: list[str] = []
    # offences that mostly come to light through police action (narcotics, weapons …): burden
    # counts them as enforcement, not as crime, where a city has no officer-activity feed
    enforcement_offenses: list[str] = []
    not_ranked: dict[str, list[str]] = {}  # layer -> areas never ranked (e.g. a non-patrol district)

    def __post_init__(self) -> None:
        check_area_layers(self.areas)


def _next_period(start_utc: datetime, period: str, tz_name: str) -> datetime | None:
    """The end of the period that starts at ``start_utc`` (local calendar arithmetic)."""
    if period == "none":
        return None
    tz = zone(tz_name)
    local = start_utc.astimezone(tz).replace(tzinfo=None)
    if period == "year":
        nxt = local.replace(year=local.year + 1)
    elif period == "month":
        nxt = local.replace(year=local.year + local.month // 12, month=local.month % 12 + 1)
    else:
        from datetime import timedelta

        nxt = local + timedelta(days=1)
    return nxt.replace(tzinfo=tz).astimezone(start_utc.tzinfo)


class CrimeAdapter:
    """Normalizes one city's crime rows as its crime mapping says."""

    def __init__(self, city: str, mapping: CrimeMapping, origin: str | None = None):
        self.city = city
        self.mapping = mapping
        self.agency = mapping.agency or city
        self.origin = origin or f"reference/crime/{city}.yaml"
        f = mapping.fields
        col = field_reader

        self._offense = col(f.offense)
        self._category = col(f.category)
        self._id = col(f.report_id)
        self._id_from = [_Column(FieldSpec(column=c)) for c in f.report_id_from]
        self._count = col(f.count)
        self._arrest = col(f.arrest)
        self._lat, self._lon = col(f.lat), col(f.lon)
        self._areas = [(layer, col(spec)) for layer, spec in mapping.areas.items()]
        self._times = [(_Column(FieldSpec(column=t.column)), time_parser(t.formats, mapping.timezone))
                       for t in as_time_specs(mapping.occurred_at)]
        self._area_index = None
        self._chunk_normalizer = None
        if mapping.area_layers:
            from divert.areas import load_area_index

            self._area_index = load_area_index(mapping.area_layers)

    def __repr__(self) -> str:
        return f"CrimeAdapter({self.city!r})"

    @cached_property
    def privacy(self):
        """What a dead letter may keep of this city's crime rows: the columns read, nothing else."""
        from divert.adapters.mapping import DEFAULT_PRIVATE_COLUMNS
        from divert.adapters.privacy import PrivacyRule

        readers = [self._offense, self._category, self._id, *self._id_from, self._count, self._arrest,
                   self._lat, self._lon, *(c for _, c in self._areas), *(c for c, _ in self._times)]
        coordinates = [c for r in (self._lat, self._lon) if r is not None for c in r.columns]
        return PrivacyRule(kept=frozenset(c for r in readers if r is not None for c in r.columns),
                           coordinates=frozenset(coordinates),
                           private=(*DEFAULT_PRIVATE_COLUMNS, *self.mapping.private_columns))

    def harm_weight(self, offense: str, category: str | None = None) -> float:
        w = self.mapping.harm_weights
        return w.get(offense, w.get(category, self.mapping.harm_default) if category else self.mapping.harm_default)

    @property
    def has_harm_weights(self) -> bool:
        return bool(self.mapping.harm_weights)

    def history_files(self) -> list[Path]:
        return resolve_history(self.mapping.history, shared_data_dir(), self.origin)

    def read_raw(self, path: Path | None = None) -> Iterator[dict[str, str]]:
        paths = [Path(path)] if path is not None else self.history_files()
        for p in paths:
            yield from read_csv(p)

    def read_chunks(self, path: Path, size: int) -> Iterator[CsvChunk]:
        """The rows of ``read_raw(path)``, ``size`` at a time, as lists (see :meth:`normalize_chunk`)."""
        return read_csv_chunks(Path(path), size)

    def normalize_chunk(self, chunk: CsvChunk) -> list[CrimeReport | InvalidRecord]:
        """:meth:`normalize` of every row of ``chunk`` (the report, or why the row is invalid), read a
        column at a time: each distinct value once (``divert.adapters.crime_columns``)."""
        return self._chunks().normalize(chunk)

    def normalize_chunk_rows(self, chunk: CsvChunk) -> list[tuple | InvalidRecord]:
        """:meth:`normalize_chunk` with each report as the row the database stores
        (``crime_columns.row_of``), built with no report in between."""
        return self._chunks().rows(chunk)

    def _chunks(self):
        if self._chunk_normalizer is None:
            from divert.adapters.crime_columns import ChunkNormalizer

            self._chunk_normalizer = ChunkNormalizer(self)
        return self._chunk_normalizer

    def normalize(self, raw: Mapping) -> CrimeReport:
        if not isinstance(raw, Mapping):
            raise InvalidRecord(NOT_AN_OBJECT, detail=f"expected an object, got {type(raw).__name__}")
        rid = self._report_id(raw)
        offense = self._text(raw, self._offense, "offense", rid)
        category = (self._category.get(raw, rid) if self._category else None) or offense
        occurred_at = self._occurred_at(raw, rid)
        count = 1
        if self._count is not None:
            text = self._count.get(raw, rid)
            key = self._count.columns[0]
            if text is None:
                raise InvalidRecord(MISSING, field=key, record_id=rid, detail=f"count ({key}) is missing")
            try:
                count = integer(text)
            except (ValueError, OverflowError) as exc:
                raise InvalidRecord(NOT_INTEGER, field=key, record_id=rid,
                                    detail=f"{key}: {clip(text)!r} is not an integer") from exc
            if not 0 <= count <= MAX_COUNT:
                raise InvalidRecord(OUT_OF_RANGE, field=key, record_id=rid,
                                    detail=f"{key}: {count} is outside 0..{MAX_COUNT}")
        arrest = None
        if self._arrest is not None and (text := self._arrest.get(raw, rid)) is not None:
            low = text.lower()
            arrest = True if low in _TRUE else False if low in _FALSE else None
        lat = coordinate(self._lat.get(raw, rid), -90.0, 90.0) if self._lat else None
        lon = coordinate(self._lon.get(raw, rid), -180.0, 180.0) if self._lon else None
        if lat is None or lon is None:
            lat = lon = None
        areas = {}
        for layer, column in self._areas:
            if (value := column.get(raw, rid)) is not None:
                areas[layer] = value
        if self._area_index is not None and lat is not None:
            areas = self._area_index.merge(areas, lat, lon)
        return CrimeReport(
            agency=self.agency, report_id=rid, occurred_at=occurred_at,
            period_end=_next_period(occurred_at, self.mapping.period, self.mapping.timezone),
            offense=offense, category=category, count=count, arrest=arrest, areas=areas,
            lat=lat, lon=lon)

    # -- helpers ------------------------------------------------------------------------

    def _report_id(self, raw: Mapping) -> str:
        if self._id is not None:
            return self._text(raw, self._id, "report_id", None)
        parts = []
        for column in self._id_from:
            text = column.get(raw, None)
            if text is None:
                raise InvalidRecord(MISSING, field=column.columns[0],
                                    detail=f"report id part {column.columns[0]!r} is missing or blank")
            parts.append(text)
        rid = ":".join(parts)
        if len(rid) > MAX_TEXT:
            raise InvalidRecord(TOO_LONG, field=self._id_from[0].columns[0],
                                detail=f"report id is {len(rid)} characters, at most {MAX_TEXT}")
        return rid

    def _text(self, raw: Mapping, column: _Column, name: str, rid: str | None) -> str:
        text = column.get(raw, rid)
        if text is None:
            raise InvalidRecord(MISSING, field=column.columns[0], record_id=rid,
                                detail=f"{name} (column {' / '.join(column.columns)}) is missing or blank")
        if len(text) > MAX_TEXT:
            raise InvalidRecord(TOO_LONG, field=column.columns[0], record_id=rid,
                                detail=f"{name} is {len(text)} characters, at most {MAX_TEXT} allowed")
        return text

    def _occurred_at(self, raw: Mapping, rid: str) -> datetime:
        for column, parse in self._times:
            text = column.get(raw, rid)
            if text is not None:
                try:
                    return parse(text)
                except (ValueError, OverflowError, OSError) as exc:
                    key = column.columns[0]
                    raise InvalidRecord(BAD_TIME, field=key, record_id=rid,
                                        detail=f"{key}: {clip(text)!r} is not a time in "
                                               f"{self.mapping.timezone}") from exc
        names = [c for column, _ in self._times for c in column.columns]
        raise InvalidRecord(MISSING, field=names[0], record_id=rid,
                            detail=f"occurred_at (column {' / '.join(names)}) is missing or blank")


def available_crime_cities() -> list[str]:
    return reference.available("crime")


def parse_crime_mapping(data: object, origin: str) -> CrimeMapping:
    try:
        mapping = msgspec.convert(data, CrimeMapping)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{origin}: {exc}") from exc
    try:
        zone(mapping.timezone)
    except Exception as exc:
        raise ConfigError(f"{origin}: key 'timezone': unknown IANA time zone {mapping.timezone!r}") from exc
    if mapping.fields.report_id is None and not mapping.fields.report_id_from:
        raise ConfigError(f"{origin}: key 'fields': give report_id (a column) or report_id_from (columns)")
    if not as_time_specs(mapping.occurred_at):
        raise ConfigError(f"{origin}: key 'occurred_at': needs at least one column")
    from divert.adapters.mapping import DEFAULT_PRIVATE_COLUMNS

    patterns = [*DEFAULT_PRIVATE_COLUMNS, *mapping.private_columns]
    named = [c for spec in msgspec.structs.astuple(mapping.fields) if spec and not isinstance(spec, list)
             for c in as_field_spec(spec).columns] + list(mapping.fields.report_id_from)
    for c in named:
        if is_private(c, patterns):
            raise ConfigError(f"{origin}: column {c!r} looks private (names, phones) and may not be read")
    for k, w in mapping.harm_weights.items():
        if w < 0:
            raise ConfigError(f"{origin}: key 'harm_weights.{k}': a weight must be >= 0, got {w}")
    return mapping


def load_crime_adapter(city: str) -> CrimeAdapter:
    """The crime adapter for ``city`` (``reference/crime/<city>.yaml``); ConfigError if absent,
    invalid, or in another time zone than the city's call mapping."""
    path = reference.path_of("crime", city, what="crime mapping")
    mapping = reference.load("crime", city, parse_crime_mapping, what="crime mapping")
    declared = reference.city_timezone(city)  # the call mapping's, when the city has one
    if declared and mapping.timezone != declared:
        raise ConfigError(f"{path}: key 'timezone': {mapping.timezone}, but reference/cities/{city}.yaml says "
                          f"{declared}: one city, one time zone")
    return CrimeAdapter(city, mapping, origin=str(path))


__all__ = ["CrimeAdapter", "CrimeMapping", "load_crime_adapter", "available_crime_cities"]
