"""The declarative city mapping: ``reference/cities/<city>.yaml`` parsed into Structs.

Parsing is strict (unknown keys are refused, so a typo is an error rather than a silently
ignored setting) and every error is a :class:`~divert.exceptions.ConfigError` naming the
file and the key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import yaml
from msgspec import Struct

from divert.exceptions import ConfigError
from schemas.records import AreaLayer, Outcome, Source, check_area_layers

# Substrings of a column name (lower-cased, letters and digits only) that mark it private.
# Such columns are never read by an adapter and are removed from dead-letter payloads.
DEFAULT_PRIVATE_COLUMNS: tuple[str, ...] = (
    "caller", "callback", "phone", "complainant", "reportingparty", "rpname", "firstname",
    "lastname", "fullname", "personname", "ssn", "dob", "dateofbirth", "email",
)

TIME_KEYWORDS = frozenset({"epoch_ms", "epoch_s", "iso"})


class FieldSpec(Struct, forbid_unknown_fields=True, frozen=True):
    """Where a canonical value comes from: column aliases tried in order, and clean-up."""

    column: str | list[str]
    strip: str = ""           # extra characters stripped from both ends, e.g. "-" for "--THEFT"
    regex: str | None = None  # keep the first group (or the whole match); no match = no value
    template: str | None = None  # then format the value: "{}0" turns Chicago beat digits "142" into sector "1420"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,) if isinstance(self.column, str) else tuple(self.column)


Spec = str | list[str] | FieldSpec


class Fields(Struct, forbid_unknown_fields=True, frozen=True):
    incident_id: Spec
    initial_type: Spec
    final_type: Spec | None = None
    priority: Spec | None = None
    disposition: Spec | None = None
    units: Spec | None = None
    address: Spec | None = None
    lat: Spec | None = None
    lon: Spec | None = None


class TimeSpec(Struct, forbid_unknown_fields=True, frozen=True):
    column: str | list[str]
    # tried in order: "epoch_ms", "epoch_s", "iso" or datetime.strptime formats
    formats: list[str]
    precision: Literal["second", "day"] = "second"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,) if isinstance(self.column, str) else tuple(self.column)


class Times(Struct, forbid_unknown_fields=True, frozen=True):
    # a list means alternatives: the first whose column holds a value is used
    received_at: TimeSpec | list[TimeSpec]
    dispatched_at: TimeSpec | list[TimeSpec] | None = None
    arrived_at: TimeSpec | list[TimeSpec] | None = None
    cleared_at: TimeSpec | list[TimeSpec] | None = None


class SourceSpec(Struct, forbid_unknown_fields=True, frozen=True):
    column: str | list[str] | None = None
    values: dict[Source, list[str]] = {}   # flag column value -> source
    types: dict[Source, list[str]] = {}    # initial call type -> source, when no flag decides
    default: Source = "911"


class AlternativeResponse(Struct, forbid_unknown_fields=True, frozen=True):
    """What in the city's data marks a call an alternative team answered (the funnel's 'served')."""

    dispositions: list[str] = []        # dispositions, as the city writes them (compared upper-case)


class CityMapping(Struct, forbid_unknown_fields=True, frozen=True):
    timezone: str
    fields: Fields
    times: Times
    agency: str | None = None           # defaults to the file's stem (the city slug)
    description: str = ""
    history: list[str] = []             # files or globs, relative to shared_data_dir()
    areas: dict[AreaLayer, Spec] = {}   # layer name -> column
    area_layers: str | None = None      # reference/areas/<name>.yaml: polygon layers for points
    # area values that are no place (dispatch channels, "outside area", information lines): kept on
    # the calls, but never a comparison area, a ranking's row or a map's shape (see below)
    non_geographic: dict[AreaLayer, list[str]] = {}   # layer name -> values
    source: SourceSpec = msgspec.field(default_factory=SourceSpec)
    outcomes: dict[str, list[Outcome]] = {}  # disposition -> officer-activity outcomes
    # None: the city's data marks no alternative response, and the funnel's 'served' is not measured
    alternative_response: AlternativeResponse | None = None
    private_columns: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_PRIVATE_COLUMNS))

    def __post_init__(self) -> None:
        check_area_layers(self.areas)


def alternative_dispositions(m: CityMapping) -> frozenset[str] | None:
    """The dispositions that mark an alternative response (upper case), None when the mapping names none.

    >>> m = msgspec.convert({"timezone": "UTC", "fields": {"incident_id": "id", "initial_type": "t"},
    ...     "times": {"received_at": {"column": "at", "formats": ["%Y"]}},
    ...     "alternative_response": {"dispositions": ["Crisis team responded "]}}, CityMapping)
    >>> sorted(alternative_dispositions(m))
    ['CRISIS TEAM RESPONDED']
    """
    if m.alternative_response is None or not m.alternative_response.dispositions:
        return None
    return frozenset(d.strip().upper() for d in m.alternative_response.dispositions)


def non_geographic(m: CityMapping, layer: str) -> frozenset[str]:
    """The values of ``layer`` that name no place, as the calls carry them (stripped).

    >>> m = msgspec.convert({"timezone": "UTC", "fields": {"incident_id": "id", "initial_type": "t"},
    ...     "times": {"received_at": {"column": "at", "formats": ["iso"]}}, "areas": {"beat": "b"},
    ...     "non_geographic": {"beat": [" INFO ", "TAC5"]}}, CityMapping)
    >>> sorted(non_geographic(m, "beat")), non_geographic(m, "district")
    (['INFO', 'TAC5'], frozenset())
    """
    return frozenset(v.strip() for v in m.non_geographic.get(layer, ()))


def as_field_spec(spec: Spec) -> FieldSpec:
    return spec if isinstance(spec, FieldSpec) else FieldSpec(column=spec)


def as_time_specs(spec: TimeSpec | list[TimeSpec] | None) -> list[TimeSpec]:
    if spec is None:
        return []
    return [spec] if isinstance(spec, TimeSpec) else list(spec)


class ColumnsRead(NamedTuple):
    all: frozenset[str]
    addresses: frozenset[str]
    coordinates: frozenset[str]


def columns_read(m: CityMapping) -> ColumnsRead:
    """Every raw column the mapping reads: what a dead letter or a replayed record may keep."""
    def cols(spec) -> tuple[str, ...]:
        return () if spec is None else as_field_spec(spec).columns

    fields = [c for name in Fields.__struct_fields__ for c in cols(getattr(m.fields, name))]
    areas = [c for spec in m.areas.values() for c in cols(spec)]
    times = [c for name in Times.__struct_fields__ for ts in as_time_specs(getattr(m.times, name))
             for c in ts.columns]
    source = [] if m.source.column is None else list(cols(m.source.column))
    return ColumnsRead(frozenset(fields + areas + times + source), frozenset(cols(m.fields.address)),
                       frozenset(cols(m.fields.lat) + cols(m.fields.lon)))


def private_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def is_private(column: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """
    >>> is_private("Caller Phone", DEFAULT_PRIVATE_COLUMNS), is_private("Beat", DEFAULT_PRIVATE_COLUMNS)
    (True, False)
    """
    key = private_key(column)
    return any(p and p in key for p in patterns)


def parse_mapping(data: object, origin: str) -> CityMapping:
    """Convert a loaded YAML document to a CityMapping, or raise ConfigError naming the key."""
    try:
        mapping = msgspec.convert(data, CityMapping)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{origin}: {exc}") from exc
    _check(mapping, origin)
    return mapping


def load_mapping(path: Path) -> CityMapping:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such city mapping") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_mapping(data, str(path))


def _check(m: CityMapping, origin: str) -> None:
    def fail(key: str, why: str) -> None:
        raise ConfigError(f"{origin}: key {key!r}: {why}")

    try:
        ZoneInfo(m.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{origin}: key 'timezone': unknown IANA time zone {m.timezone!r}") from exc
    if m.agency is not None and not m.agency.strip():
        fail("agency", "must not be empty")
    patterns = [private_key(p) for p in m.private_columns]
    specs: list[tuple[str, tuple[str, ...]]] = []
    for name in Fields.__struct_fields__:
        spec = getattr(m.fields, name)
        if spec is not None:
            fs = as_field_spec(spec)
            specs.append((f"fields.{name}", fs.columns))
            if fs.regex is not None:
                try:
                    re.compile(fs.regex)
                except re.error as exc:
                    fail(f"fields.{name}.regex", str(exc))
    for layer, spec in m.areas.items():
        fs = as_field_spec(spec)
        specs.append((f"areas.{layer}", fs.columns))
        if fs.regex is not None:
            try:
                re.compile(fs.regex)
            except re.error as exc:
                fail(f"areas.{layer}.regex", str(exc))
    for layer, values in m.non_geographic.items():
        if layer not in m.areas and m.area_layers is None:
            fail(f"non_geographic.{layer}", f"not an area layer of this city (layers: {', '.join(m.areas) or 'none'})")
        if any(not v.strip() for v in values):
            fail(f"non_geographic.{layer}", "values must be non-empty area names")
    for name in Times.__struct_fields__:
        for i, ts in enumerate(as_time_specs(getattr(m.times, name))):
            specs.append((f"times.{name}[{i}]", ts.columns))
            if not ts.formats:
                fail(f"times.{name}[{i}].formats", "needs at least one format")
            for fmt in ts.formats:
                if fmt not in TIME_KEYWORDS and "%" not in fmt:
                    fail(f"times.{name}[{i}].formats", f"{fmt!r} is neither a keyword "
                         f"({', '.join(sorted(TIME_KEYWORDS))}) nor a strptime format")
    if m.source.column is not None:
        cols = (m.source.column,) if isinstance(m.source.column, str) else tuple(m.source.column)
        specs.append(("source.column", cols))
    for key, cols in specs:
        if not cols or any(not c for c in cols):
            fail(key, "needs at least one non-empty column name")
        for col in cols:
            if any(p and p in private_key(col) for p in patterns):
                fail(key, f"column {col!r} looks private (caller name/phone) and may not be read")
    for kind in ("values", "types"):
        seen: dict[str, str] = {}
        for source, vals in getattr(m.source, kind).items():
            for v in vals:
                k = v.strip().upper()
                if k in seen and seen[k] != source:
                    fail(f"source.{kind}", f"{v!r} is listed under both {seen[k]} and {source}")
                seen[k] = source
