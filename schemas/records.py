"""The records that travel on divert's topics, one Struct per topic record.

Evolution rules (msgspec's): a new field gets a default; a field's type never changes;
a breaking change bumps ``SCHEMA_VERSION`` and gets a new Struct. Decoders ignore unknown
fields, so a producer one version ahead does not break a consumer.

Privacy is part of the contract: no record has a field for a caller's name or phone
number, so such columns in a vendor feed are dropped on decode; addresses are block-level
(``block_address`` holds no house number anywhere: see ``BLOCK_ADDRESS_PATTERN``);
coordinates are rounded to 3 decimals (about 100 m).

>>> import msgspec
>>> ev = CadEvent(agency="seattle", incident_id="2023000319821", source="911",
...               initial_type="BURN - RECKLESS BURNING", received_at=datetime(2023, 11, 5, 1, 8, 26, tzinfo=UTC),
...               block_address="1400 BLOCK 23RD AVE", lat=47.618, lon=-122.281)
>>> decode_cad_event(msgspec.json.encode(ev)) == ev
True
>>> msgspec.json.decode(b'{"agency": "x", "incident_id": "1", "source": "911", "initial_type": "T",'
...     b' "received_at": "2023-01-01T00:00:00Z", "caller_name": "Ann", "caller_phone": "555"}',
...     type=CadEvent).initial_type
'T'
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

SCHEMA_VERSION = 1

Source = Literal["911", "non_emergency", "officer_initiated", "alarm", "other"]
Route = Literal["crisis", "navigator", "co_response", "police", "ems_fire", "officer_initiated", "admin"]
Outcome = Literal["warning", "citation", "arrest", "search", "contraband_found"]

ROUTES: tuple[str, ...] = Route.__args__  # type: ignore[attr-defined]
SOURCES: tuple[str, ...] = Source.__args__  # type: ignore[attr-defined]
CIVILIAN_ROUTES = frozenset({"crisis", "navigator"})

# A block-level address holds no house number anywhere: "7900 BLOCK PINEBROOK DR",
# "0 BLOCK MAIN ST", "1ST AVE / PIKE ST", "PINE ST & 3RD AVE", "NE LOOP 410", "IH 35 N / US HWY 90".
# It is tokens (runs of characters other than the separators below) joined by separators, and
# the only tokens that may hold a digit are
#   - a hundred block followed by " BLOCK":      "5200 BLOCK", "0 BLOCK"
#   - an ordinal of up to 3 digits:              "1ST", "35TH", "122ND"
#   - a route number of up to 4 digits (and one letter), glued by one space or "-" to a
#     route word (ROUTE_WORDS):                 "IH 35", "I-5", "LOOP 1604", "FM 1957", "US 281A"
# Any other token with a digit is house-number-like and refused: "5237", "N5237", "#5237",
# "5237A", "3017-A", "APT 4", "#12", "STE 200", the "76" of "POST NO 76". The pattern is used
# verbatim by msgspec (Python re), the JSON Schemas (ECMA 262) and the database CHECKs
# (PostgreSQL ARE, consumers/db/migrations/009_block_address.sql), so it keeps to their common
# syntax: no \b (a backspace in PostgreSQL), no lookbehind. It is case-sensitive: canonical
# addresses are upper case, and "loop 410" is refused like any other bare number. \d is any
# Unicode digit to Python ("٥") but ASCII to PostgreSQL and ECMA: the adapter
# (divert.adapters.address) writes ASCII digits only, so the three agree on what it writes.
BLOCK_ADDRESS_SEPARATORS = " /&@,;()-"
ROUTE_WORDS: tuple[str, ...] = (
    "IH", "I", "INTERSTATE", "US", "HWY", "HY", "HIGHWAY", "LOOP", "LP", "FM", "SH", "SR", "STHY",
    "RT", "RTE", "ROUTE", "STATE", "CR", "COUNTY ROAD", "COUNTY RD", "CO RD", "SPUR", "BUS",
    "BUSINESS", "PR",
)
_SEP = r"[ /&@,;()-]"
_TOKEN = (r"(?:[^\d /&@,;()-]+"                      # a word without digits
          r"|\d{1,3}(?:ST|ND|RD|TH)"                 # an ordinal
          r"|(?:\d*00|0) BLOCK"                      # a hundred block
          rf"|(?:{'|'.join(ROUTE_WORDS)})[ -]\d{{1,4}}[A-Z]?)")  # a route number
BLOCK_ADDRESS_PATTERN = rf"^{_SEP}*{_TOKEN}(?:{_SEP}+{_TOKEN})*{_SEP}*$"
_BLOCK_ADDRESS = re.compile(BLOCK_ADDRESS_PATTERN)

Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
BlockAddress = Annotated[str, Meta(pattern=BLOCK_ADDRESS_PATTERN, max_length=200)]
NonEmpty = Annotated[str, Meta(min_length=1, max_length=200)]
Confidence = Annotated[float, Meta(ge=0, le=1)]

# A record's areas: {layer: area}, e.g. {"district": "4", "beat": "4-12"}. Every call is also
# stored in the layer "city" as area "all" (call_areas), so no record may use that layer; and
# layer, area and their number are bounded so that a call's area rows and index entries stay
# small whatever a producer sends (a 10,000-layer call would be 10,000 rows).
CITY_LAYER = "city"
AreaLayer = Annotated[str, Meta(min_length=1, max_length=64)]
AreaName = Annotated[str, Meta(max_length=200)]
Areas = Annotated[dict[AreaLayer, AreaName], Meta(max_length=32)]


def _check_rounded(name: str, value: float | None) -> None:
    if value is not None and abs(value * 1000 - round(value * 1000)) > 1e-6:
        raise ValueError(f"{name} must be rounded to 3 decimals (about 100 m), got {value}")


def check_area_layers(layers) -> None:
    """ValueError if ``layers`` (names, or a dict keyed by them) holds the whole city's layer;
    used by the records and by the city configurations that name layers."""
    if CITY_LAYER in layers:
        raise ValueError(f"areas: the layer {CITY_LAYER!r} is the whole city's (every call counts in it "
                         f"as area 'all'): give this layer another name")


def _check_utc(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must carry a time zone (canonical time is UTC)")


class CadEvent(Struct, frozen=True, kw_only=True):
    """One call for service or officer-initiated event, as dispatch recorded it."""

    schema_version: int = SCHEMA_VERSION
    agency: NonEmpty
    incident_id: NonEmpty
    source: Source
    initial_type: NonEmpty
    final_type: str | None = None
    priority: int | None = None
    received_at: datetime
    # "day" when the city publishes only the date (Seattle's filtered extracts): such events
    # count in daily windows but not in hourly or minute ones, nor in response times
    time_precision: Literal["second", "day"] = "second"
    dispatched_at: datetime | None = None
    arrived_at: datetime | None = None
    cleared_at: datetime | None = None
    units: Annotated[int, Meta(ge=0)] | None = None
    disposition: str | None = None
    block_address: BlockAddress | None = None
    areas: Areas = {}
    lat: Latitude | None = None
    lon: Longitude | None = None

    def __post_init__(self) -> None:
        check_area_layers(self.areas)
        for name in ("received_at", "dispatched_at", "arrived_at", "cleared_at"):
            _check_utc(name, getattr(self, name))
        _check_rounded("lat", self.lat)
        _check_rounded("lon", self.lon)


class Demographics(Struct, frozen=True, kw_only=True):
    """Optional subject demographics of a stop, as the city recorded them."""

    race: str | None = None
    ethnicity: str | None = None
    sex: str | None = None
    age_group: str | None = None


class OfficerActivity(Struct, frozen=True, kw_only=True):
    """A stop or on-view contact that an officer initiated."""

    schema_version: int = SCHEMA_VERSION
    agency: NonEmpty
    activity_id: NonEmpty
    occurred_at: datetime
    activity_type: NonEmpty
    reason: str | None = None
    outcomes: list[Outcome] = []
    areas: Areas = {}
    block_address: BlockAddress | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    subject: Demographics | None = None
    incident_id: str | None = None

    def __post_init__(self) -> None:
        check_area_layers(self.areas)
        _check_utc("occurred_at", self.occurred_at)
        _check_rounded("lat", self.lat)
        _check_rounded("lon", self.lon)


class CrimeReport(Struct, frozen=True, kw_only=True):
    """A reported offence, or a count of them when the city publishes aggregates."""

    schema_version: int = SCHEMA_VERSION
    agency: NonEmpty
    report_id: NonEmpty
    occurred_at: datetime
    period_end: datetime | None = None
    offense: NonEmpty
    category: NonEmpty
    count: Annotated[int, Meta(ge=0)] = 1
    arrest: bool | None = None
    areas: Areas = {}
    lat: Latitude | None = None
    lon: Longitude | None = None

    def __post_init__(self) -> None:
        check_area_layers(self.areas)
        _check_utc("occurred_at", self.occurred_at)
        _check_utc("period_end", self.period_end)
        _check_rounded("lat", self.lat)
        _check_rounded("lon", self.lon)


class ClassifiedCall(Struct, frozen=True, kw_only=True):
    """A CAD event with the route the policy gave it and every reason that decided it.

    Eligibility is decided on the initial call type (``eligible_initial``, an upper bound)
    and again after the disqualifiers (``eligible``). The final type's route is kept only to
    compare what dispatch knew with what the call turned out to be.
    """

    schema_version: int = SCHEMA_VERSION
    call: CadEvent
    apco_code: str | None
    crosswalk_confidence: Confidence
    route: Route
    eligible_initial: bool
    eligible: bool
    reasons: list[str]
    policy_version: NonEmpty
    final_apco_code: str | None = None
    final_route: Route | None = None


class Alert(Struct, frozen=True, kw_only=True):
    """Diversion-eligible volume above its expected bound for an area and route."""

    schema_version: int = SCHEMA_VERSION
    alert_id: NonEmpty
    agency: NonEmpty
    area_layer: NonEmpty
    area: NonEmpty
    route: Route
    state: Literal["firing", "resolved"]
    window_start: datetime
    window_end: datetime
    observed: float
    expected: float
    upper_bound: float
    score: float
    policy_version: NonEmpty
    # what a manager reads: "+23 crisis-eligible calls in the last 90 minutes in substation
    # NORTH, 9 expected", local times; the series, the window's length and the band of normal
    # counts (expected_low … upper_bound) it was judged against
    series: Annotated[str, Meta(max_length=400)] = ""
    window_minutes: int = 0
    expected_low: float | None = None
    detector: Literal["threshold", "cusum"] = "threshold"
    # a declared event (reference/events/<agency>.yaml) on while the spike ran: a known surge
    event: Annotated[str, Meta(max_length=200)] | None = None
    message: Annotated[str, Meta(max_length=1000)] = ""


class DeadLetter(Struct, frozen=True, kw_only=True):
    """An input record that could not be made canonical, with the field and the reason."""

    schema_version: int = SCHEMA_VERSION
    source_topic: NonEmpty
    agency: str | None = None
    record_id: str | None = None
    field: str | None = None
    reason: NonEmpty
    detail: str
    payload: str
    failed_at: datetime
    partition: int | None = None
    offset: int | None = None
    # position of the record in a message that carried a batch (a JSON array) of records
    item: int = 0


RECORDS: dict[str, type[Struct]] = {
    "cad_event": CadEvent,
    "officer_activity": OfficerActivity,
    "crime_report": CrimeReport,
    "classified_call": ClassifiedCall,
    "alert": Alert,
    "dead_letter": DeadLetter,
}

_decoders = {name: msgspec.json.Decoder(cls) for name, cls in RECORDS.items()}
decode_cad_event = _decoders["cad_event"].decode
decode_officer_activity = _decoders["officer_activity"].decode
decode_crime_report = _decoders["crime_report"].decode
decode_classified_call = _decoders["classified_call"].decode
decode_alert = _decoders["alert"].decode
decode_dead_letter = _decoders["dead_letter"].decode
encode = msgspec.json.Encoder().encode


def is_block_level(address: str) -> bool:
    """Whether ``address`` holds no house-number-like token (``BLOCK_ADDRESS_PATTERN``).

    >>> is_block_level("7900 BLOCK PINEBROOK DR"), is_block_level("5237 N 35TH ST")
    (True, False)
    >>> [is_block_level(a) for a in ("#5237 N 35TH ST", "N5237 W 35TH ST", "APT 4 5237 N 35TH ST",
    ...                              "1200 BLOCK E MAIN ST #12", "3017-A N 28TH ST")]
    [False, False, False, False, False]
    >>> [is_block_level(a) for a in ("0 BLOCK MAIN ST", "1ST AVE / PIKE ST", "PINE ST & 3RD AVE",
    ...     "E NORTH AV / N HUMBOLDT BL", "0 BLOCK NE LOOP 410", "IH 35 N NB / IH 10 W NB",
    ...     "12300 BLOCK US HWY 90 W", "6500 BLOCK FM 78", "I-5 / SR 99", "COUNTY ROAD 12")]
    [True, True, True, True, True, True, True, True, True, True]
    """
    return bool(_BLOCK_ADDRESS.match(address))


def json_schema(name: str) -> dict:
    """The JSON Schema of one record, as msgspec generates it (``schemas/json/<name>.json``)."""
    return msgspec.json.schema(RECORDS[name])


__all__ = [
    "SCHEMA_VERSION", "Source", "Route", "Outcome", "ROUTES", "SOURCES", "CIVILIAN_ROUTES",
    "CadEvent", "Demographics", "OfficerActivity", "CrimeReport", "ClassifiedCall", "Alert",
    "DeadLetter", "RECORDS", "encode", "is_block_level", "json_schema", "UTC",
    "AreaLayer", "Areas", "CITY_LAYER", "check_area_layers",
    "decode_cad_event", "decode_officer_activity", "decode_crime_report", "decode_classified_call",
    "decode_alert", "decode_dead_letter",
]
