"""CityAdapter: one city's raw CAD record -> canonical CadEvent (+ OfficerActivity).

Everything the adapter needs is compiled once from the mapping in ``__init__`` (column
aliases, regexes, time parsers, upper-cased lookup tables), so ``normalize`` is a handful
of dict lookups per record plus the two Struct constructions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

from divert.adapters.address import to_block_address
from divert.adapters.mapping import (
    CityMapping,
    FieldSpec,
    as_field_spec,
    as_time_specs,
    is_private,
)
from divert.adapters.privacy import PrivacyRule, minimal_raw
from divert.adapters.reader import read_csv, resolve_history
from divert.adapters.times import TimeParser, time_parser
from divert.adapters.values import (
    BAD_TIME,
    MAX_PRIORITY,
    MAX_TEXT,
    MISSING,
    NOT_AN_OBJECT,
    NOT_INTEGER,
    OUT_OF_RANGE,
    TOO_LONG,
    clip,
    coordinate,
    integer,
    raw_text,
)
from divert.exceptions import InvalidRecord
from divert.paths import shared_data_dir
from schemas.records import CadEvent, OfficerActivity


class Normalized(NamedTuple):
    event: CadEvent
    activity: OfficerActivity | None


class _Column:
    """A compiled FieldSpec: aliases, extra strip characters and an optional regex."""

    __slots__ = ("columns", "strip", "regex", "template", "_shaped")

    def __init__(self, spec: FieldSpec):
        self.columns = spec.columns
        self.strip = spec.strip or None
        self.regex = re.compile(spec.regex) if spec.regex else None
        self.template = spec.template
        # a column worth reshaping (codes, beats, districts) holds few distinct values: each is
        # reshaped once (bounded, so a column of unique values cannot grow it without end)
        self._shaped: dict[str, str | None] = {}

    def get(self, raw: Mapping, rid: str | None) -> str | None:
        text = raw_text(raw, self.columns, rid)
        if text is None or (self.strip is None and self.regex is None and self.template is None):
            return text
        try:
            return self._shaped[text]
        except KeyError:
            shaped = self._shape(text)
            if len(self._shaped) < _SHAPED_MAX:
                self._shaped[text] = shaped
            return shaped

    def _shape(self, text: str) -> str | None:
        if self.strip is not None:
            text = text.strip(self.strip).strip() or None
        if self.regex is not None and text is not None:
            m = self.regex.search(text)
            text = (m.group(1) if m.re.groups else m.group(0)) if m else None
        if self.template is not None and text is not None:
            text = self.template.format(text)
        return text


_SHAPED_MAX = 4096


class _Time:
    __slots__ = ("column", "parse", "precision")

    def __init__(self, column: _Column, parse: TimeParser, precision: str):
        self.column, self.parse, self.precision = column, parse, precision


def _present_key(raw: Mapping, columns: tuple[str, ...]) -> str:
    """The alias that ``raw`` actually carries, for naming the field in an error."""
    return next((c for c in columns if raw.get(c) is not None), columns[0])


def field_reader(spec) -> _Column | None:
    """The reader of one mapped field, or None when the mapping leaves it out."""
    return _Column(as_field_spec(spec)) if spec is not None else None


class CityAdapter:
    """Normalizes one city's records as its mapping says (see ``divert.adapters``)."""

    def __init__(self, city: str, mapping: CityMapping, origin: str | None = None):
        self.city = city
        self.mapping = mapping
        self.agency = mapping.agency or city
        self.origin = origin or f"reference/cities/{city}.yaml"
        f = mapping.fields
        col = field_reader

        self._id = col(f.incident_id)
        self._type = col(f.initial_type)
        self._final = col(f.final_type)
        self._priority = col(f.priority)
        self._disposition = col(f.disposition)
        self._units = col(f.units)
        self._address = col(f.address)
        self._lat = col(f.lat)
        self._lon = col(f.lon)
        self._areas = [(layer, col(spec)) for layer, spec in mapping.areas.items()]

        def times(spec):
            return [_Time(_Column(FieldSpec(column=t.column)), time_parser(t.formats, mapping.timezone),
                          t.precision) for t in as_time_specs(spec)]

        self._received = times(mapping.times.received_at)
        self._optional_times = [
            (name, times(getattr(mapping.times, name)))
            for name in ("dispatched_at", "arrived_at", "cleared_at")
            if getattr(mapping.times, name) is not None
        ]
        src = mapping.source
        self._flag = None if src.column is None else _Column(FieldSpec(column=src.column))
        self._flag_values = {v.strip().upper(): s for s, vals in src.values.items() for v in vals}
        self._type_sources = {v.strip().upper(): s for s, vals in src.types.items() for v in vals}
        self._default_source = src.default
        self._outcomes = {k.strip().upper(): v for k, v in mapping.outcomes.items()}
        self._private = tuple(mapping.private_columns)
        self._area_index = None  # optional step: place each point in the city's polygon layers
        if mapping.area_layers:
            from divert.areas import load_area_index

            self._area_index = load_area_index(mapping.area_layers)

    def __repr__(self) -> str:
        return f"CityAdapter({self.city!r})"

    # -- public API ---------------------------------------------------------------------

    def record_id(self, raw: dict[str, str]) -> str | None:
        """The incident id if the record has a readable one (best effort, never raises)."""
        if not isinstance(raw, Mapping):
            return None
        try:
            rid = self._id.get(raw, None)
        except InvalidRecord:
            return None
        return rid[:MAX_TEXT] if rid else None

    def event_time(self, raw: dict[str, str]) -> datetime:
        """When the call was received, in UTC (the replay order); raises InvalidRecord."""
        if not isinstance(raw, Mapping):
            raise InvalidRecord(NOT_AN_OBJECT, detail=f"expected an object, got {type(raw).__name__}")
        return self._received_at(raw, self.record_id(raw))[0]

    def is_private(self, column: str) -> bool:
        return is_private(column, self._private)

    @cached_property
    def privacy(self) -> PrivacyRule:
        """What a dead letter or a replayed record may keep of this city's raw records."""
        return PrivacyRule.for_mapping(self.mapping)

    def minimal(self, raw: Mapping) -> dict:
        """``raw`` with only the columns this adapter reads, the address at block level and the
        coordinates at 3 decimals: what ``divert replay`` produces, normalized exactly as ``raw``."""
        return minimal_raw(raw, self.privacy)

    def normalize(self, raw: dict[str, str]) -> Normalized:
        """The canonical event (and officer activity, if officer-initiated) for ``raw``."""
        if not isinstance(raw, Mapping):
            raise InvalidRecord(NOT_AN_OBJECT, detail=f"expected an object, got {type(raw).__name__}")
        rid = self._required(raw, self._id, "incident_id", None)
        initial_type = self._required(raw, self._type, "initial_type", rid)
        received_at, precision = self._received_at(raw, rid)
        times = {name: self._time(raw, specs, rid) for name, specs in self._optional_times}

        source = None
        if self._flag is not None:
            flag = self._flag.get(raw, rid)
            if flag is not None:
                source = self._flag_values.get(flag.upper())
        if source is None:  # no flag, or a value the mapping does not list
            source = self._type_sources.get(initial_type.upper(), self._default_source)

        address = self._address.get(raw, rid) if self._address else None
        block = to_block_address(address) if address else None
        lat = coordinate(self._lat.get(raw, rid), -90.0, 90.0) if self._lat else None
        lon = coordinate(self._lon.get(raw, rid), -180.0, 180.0) if self._lon else None
        if lat is None or lon is None:  # half a point is no point
            lat = lon = None
        areas = {}
        for layer, column in self._areas:
            value = self._optional(raw, column, f"area {layer}", rid)
            if value is not None:
                areas[layer] = value
        if self._area_index is not None and lat is not None:
            areas = self._area_index.merge(areas, lat, lon)
        disposition = self._optional(raw, self._disposition, "disposition", rid)

        event = CadEvent(
            agency=self.agency,
            incident_id=rid,
            source=source,
            initial_type=initial_type,
            final_type=self._optional(raw, self._final, "final_type", rid),
            priority=self._int(raw, self._priority, rid, 0, MAX_PRIORITY) if self._priority else None,
            received_at=received_at,
            time_precision=precision,
            disposition=disposition,
            units=self._int(raw, self._units, rid, 0, 10_000) if self._units else None,
            block_address=block,
            areas=areas,
            lat=lat,
            lon=lon,
            **times,
        )
        activity = None
        if source == "officer_initiated":
            outcomes = self._outcomes.get(disposition.upper()) if disposition else None
            activity = OfficerActivity(
                agency=self.agency,
                activity_id=rid,
                occurred_at=received_at,
                activity_type=initial_type,
                outcomes=list(outcomes) if outcomes else [],
                areas=dict(areas),
                block_address=block,
                lat=lat,
                lon=lon,
                incident_id=rid,
            )
        return Normalized(event, activity)

    def history_files(self) -> list[Path]:
        return resolve_history(self.mapping.history, shared_data_dir(), self.origin)

    def read_raw(self, path: Path | None = None) -> Iterator[dict[str, str]]:
        """Rows of ``path``, or of every configured history file in order when None.

        Files may overlap (Seattle's extracts repeat events of its full exports): every row
        is yielded, duplicates carry the same incident id, and downstream writes keyed by
        (agency, incident id) make the repeats idempotent.
        """
        paths = [Path(path)] if path is not None else self.history_files()
        for p in paths:
            yield from read_csv(p)

    # -- helpers ------------------------------------------------------------------------

    def _required(self, raw: Mapping, column: _Column, name: str, rid: str | None) -> str:
        text = column.get(raw, rid)
        if text is None:
            raise InvalidRecord(MISSING, field=column.columns[0], record_id=rid,
                                detail=f"{name} (column {' / '.join(column.columns)}) is missing or blank")
        if len(text) > MAX_TEXT:
            raise InvalidRecord(TOO_LONG, field=_present_key(raw, column.columns), record_id=rid,
                                detail=f"{name} is {len(text)} characters, at most {MAX_TEXT} allowed")
        return text

    def _optional(self, raw: Mapping, column: _Column | None, name: str, rid: str | None) -> str | None:
        text = column.get(raw, rid) if column is not None else None
        if text is not None and len(text) > MAX_TEXT:
            raise InvalidRecord(TOO_LONG, field=_present_key(raw, column.columns), record_id=rid,
                                detail=f"{name} is {len(text)} characters, at most {MAX_TEXT} allowed")
        return text

    def _parse(self, raw: Mapping, spec: _Time, text: str, rid: str | None) -> datetime:
        try:
            return spec.parse(text)
        except (ValueError, OverflowError, OSError) as exc:
            key = _present_key(raw, spec.column.columns)
            raise InvalidRecord(BAD_TIME, field=key, record_id=rid,
                                detail=f"{key}: {clip(text)!r} is not a time in {self.mapping.timezone}: "
                                       f"{clip(str(exc), 120)}") from exc

    def _received_at(self, raw: Mapping, rid: str | None) -> tuple[datetime, str]:
        for spec in self._received:
            text = spec.column.get(raw, rid)
            if text is not None:
                return self._parse(raw, spec, text, rid), spec.precision
        columns = [c for spec in self._received for c in spec.column.columns]
        raise InvalidRecord(MISSING, field=columns[0], record_id=rid,
                            detail=f"received_at (column {' / '.join(columns)}) is missing or blank")

    def _time(self, raw: Mapping, specs: list[_Time], rid: str | None) -> datetime | None:
        for spec in specs:
            text = spec.column.get(raw, rid)
            if text is not None:
                return self._parse(raw, spec, text, rid)
        return None

    def _int(self, raw: Mapping, column: _Column, rid: str | None, low: int, high: int) -> int | None:
        text = column.get(raw, rid)
        if text is None:
            return None
        key = _present_key(raw, column.columns)
        try:
            value = integer(text)
        except (ValueError, OverflowError) as exc:
            raise InvalidRecord(NOT_INTEGER, field=key, record_id=rid,
                                detail=f"{key}: {clip(text)!r} is not an integer") from exc
        if not low <= value <= high:
            raise InvalidRecord(OUT_OF_RANGE, field=key, record_id=rid,
                                detail=f"{key}: {value} is outside {low}..{high}")
        return value
