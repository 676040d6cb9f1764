"""The routing policy: APCO code → route, the disqualifiers, and when each team is in service.

The policy is a YAML file that communities edit (``reference/policies/default.yaml``); this
module only loads and checks it, and every error names the file and the key.

>>> policy = load_policy()
>>> policy.version
'default-2026.1'
>>> policy.route_for("WELFARE"), policy.route_for("ASSAULT"), policy.route_for("NOPE")
('crisis', 'police', 'police')
>>> [(d.name, d.match("MENTAL - PERSON WITH KNIFE", "EDP")) for d in policy.disqualifiers]
[('weapon', 'KNIFE'), ('violence_in_progress', None), ('injury_or_medical', None), ('suicide_attempt', None)]
>>> policy.city("seattle").priority_threshold
1
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from msgspec import UNSET, Meta, Struct, UnsetType

from divert.adapters.reader import read_yaml
from divert.exceptions import ConfigError
from schemas.records import CIVILIAN_ROUTES, ROUTES

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DISQUALIFIER_ROUTES = ("police", "co_response")
_HOURS = re.compile(r"^(?P<d1>[a-z]{3})(?:-(?P<d2>[a-z]{3}))?\s+(?P<h1>\d{1,2}):00-(?P<h2>\d{1,2}):00$")

# Codes that describe violence, weapons or domestic violence. A policy may not send them to a
# civilian team: the check is here so that a typo in a community's file cannot do it.
VIOLENT_CODES = frozenset({
    "ABDUCTF", "ABDUCTNF", "ALRPANA", "ALRPANS", "ALRROBA", "ALRROBS", "ASSAULT", "BARICADE",
    "BOMB", "CARJACK", "DVA", "DVNA", "EXTORT", "FIGHT", "HOMICIDE", "HOSTAGE", "MAYDAY",
    "ORDERV", "ROBBERY", "SEXOFFNS", "SHOOT", "STABBING", "TERROR", "THREATS", "WEAPON",
})


def keyword_pattern(keywords: list[str], truncated: bool = False,
                    not_truncated: frozenset[str] | set[str] = frozenset()) -> re.Pattern[str]:
    """Whole-word, case-insensitive alternation; a trailing ``*`` matches any ending.

    With ``truncated``, a single-word keyword of 5+ letters also matches when the string ends
    in its first 4+ letters — a CAD field cut the word short ("... WEAPO", "SEX ASSA") — unless
    that cut is a word of ``not_truncated`` or a prefix of one ("VIOL" of VIOLATION); a phrase
    also matches when the string ends 2+ letters into its second word ("ASSIST OF").

    >>> bool(keyword_pattern(["GUN*", "IP"]).search("SUBJ WITH GUNS")), bool(keyword_pattern(["IP"]).search("IPAD"))
    (True, False)
    >>> cut = keyword_pattern(["WEAPON*", "VIOLENT"], truncated=True, not_truncated={"VIOLATION"})
    >>> bool(cut.search("ABAND/PROP WEAPO")), bool(cut.search("WEAPO FOUND")), bool(cut.search("TRAFFIC VIOL"))
    (True, False, False)
    """
    parts = []
    cuts: set[str] = set()
    for kw in keywords:
        word = kw.strip().upper()
        stem = word.rstrip("*")
        if word.endswith("*"):
            parts.append(re.escape(stem))
        else:
            parts.append(re.escape(word) + r"(?![A-Z0-9])")
        if truncated and stem.isalpha() and len(stem) >= 5:
            for n in range(4, len(stem)):
                cut = stem[:n]
                if not any(w.startswith(cut) for w in not_truncated):
                    cuts.add(cut)
        elif truncated and " " in stem:  # a phrase cut in its second word: "ASSIST OF"
            first = stem.index(" ")
            for n in range(first + 3, len(stem)):
                if stem[n - 1].isalnum():
                    cuts.add(stem[:n])
    if cuts:
        alternation = "|".join(re.escape(c) for c in sorted(cuts, key=lambda c: (-len(c), c)))
        parts.append(r"(?:" + alternation + r")(?=[^A-Z0-9]*$)")
    # every alternative starts a word: one look behind per position, not one per alternative
    # (the same matches, two to three times faster over the guard's few hundred words)
    return re.compile(r"(?<![A-Z0-9])(?:" + "|".join(parts) + ")", re.IGNORECASE)


@dataclass(frozen=True)
class Disqualifier:
    name: str
    reason: str
    route: str
    crisis_route: str | None = None
    keywords: re.Pattern[str] | None = None
    codes: frozenset[str] | None = None

    def match(self, call_type: str, code: str | None) -> str | None:
        """The text that matched (a keyword, or the code), or None."""
        if self.codes is not None and code not in self.codes:
            return None
        if self.keywords is None:
            return code
        found = self.keywords.search(call_type)
        return found.group(0) if found else None

    def route_from(self, base_route: str) -> str:
        if base_route in ("crisis", "co_response") and self.crisis_route:
            return self.crisis_route
        return self.route


@dataclass(frozen=True)
class Availability:
    """When and where a team is in service. ``hours`` is a set of hours of week (0 = Monday
    00h, local time), None when always in service; ``areas`` maps an area layer to the
    values served (upper case), None when the whole city is served."""

    hours: frozenset[int] | None = None
    areas: Mapping[str, frozenset[str]] | None = None
    fallback: str = "police"

    def in_service(self, hour_of_week: int | None, weekday: int | None = None) -> bool:
        if self.hours is None:
            return True
        if hour_of_week is not None:
            return hour_of_week in self.hours
        if weekday is not None:  # time known to the day only: in service at some hour that day
            return any(h // 24 == weekday for h in self.hours)
        return True

    def serves(self, areas: Mapping[str, str]) -> str | None:
        """None when served, else 'layer=value' naming the area outside the service. Areas are
        compared in upper case, as the policy holds them ("Algiers Point" is ALGIERS POINT).

        >>> Availability(areas={"precinct": frozenset({"EAST"})}).serves({"precinct": "East"}) is None
        True
        """
        for layer, allowed in (self.areas or {}).items():
            value = areas.get(layer)
            if value is None or value.upper() not in allowed:
                return f"{layer}={value}"
        return None


@dataclass(frozen=True)
class CityPolicy:
    name: str
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    priority_threshold: int | None = None
    availability: Mapping[str, Availability] = field(default_factory=dict)

    @property
    def restricts_hours(self) -> bool:
        return any(a.hours is not None for a in self.availability.values())

    @property
    def area_layers(self) -> tuple[str, ...]:
        return tuple(sorted({k for a in self.availability.values() for k in (a.areas or {})}))


@dataclass(frozen=True)
class Policy:
    version: str
    routes: Mapping[str, str]
    default_route: str
    min_confidence: float
    insufficient_codes: frozenset[str]
    insufficient_route: str
    disqualifiers: tuple[Disqualifier, ...]
    high_priority: Disqualifier
    availability: Mapping[str, Availability]
    cities: Mapping[str, CityPolicy]
    path: str = "<memory>"
    timezones: Mapping[str, str] = field(default_factory=dict)   # the city mappings' (one source)

    def route_for(self, code: str | None) -> str:
        return self.routes.get(code, self.default_route) if code else self.default_route

    def city(self, name: str) -> CityPolicy:
        """The city's settings; a city not in the file gets its mapping's time zone (else UTC), no
        priority rule and the routes' general availability."""
        if name in self.cities:
            return self.cities[name]
        return CityPolicy(name=name, timezone=ZoneInfo(self.timezones.get(name, "UTC")),
                          availability=dict(self.availability))


def load_policy(path: Path | None = None) -> Policy:
    """Load and check a policy file (default ``reference/policies/default.yaml``) against the other
    reference files: a city's time zone comes from its mapping (reference/cities/ or
    reference/crime/) and a policy that names another one is an error; every code it routes is an
    APCO code the crosswalks use; every area a team serves is one of the city's area layers."""
    from divert import reference

    path = Path(path) if path else reference.folder("policies") / "default.yaml"
    data = read_yaml(path)
    cities = {*reference.available("cities"), *reference.available("crime")}
    zones = {c: z for c in sorted(cities) if (z := reference.city_timezone(c))}
    policy = parse_policy(data, origin=str(path), timezones=zones)
    from divert.crosswalk import load_apco_codes

    # a misspelt code would route nothing and say nothing: every code must be one the crosswalks use
    known = load_apco_codes()
    for code in sorted({*policy.routes, *policy.insufficient_codes} - set(known)):
        where = f"routes.{policy.routes[code]}" if code in policy.routes else "insufficient_information.codes"
        raise ConfigError(f"{path}: key '{where}': {code!r} is not an APCO code of reference/crosswalks/apco_codes.csv")
    check_program_areas(policy, cities)
    return policy


def check_program_areas(policy: Policy, cities: Iterable[str]) -> None:
    """Each team that serves only some areas (``availability.<route>.areas``, in general or for a
    city) names layers the city's records carry and areas of them: a misspelt layer or area would
    send every call to the fallback and say nothing. ``cities``: the cities with a mapping.

    A layer is the city's when its call or crime mapping reads it from a column or places points
    in it (``area_layers``, reference/areas/). Its areas are known, and checked, when they come
    from the polygons only (a column's values are the data's); a value the mapping marks as no
    place (``non_geographic``) is never an area a team serves."""
    for city in sorted({*cities, *policy.cities}):
        programs = {route: a for route, a in policy.city(city).availability.items() if a.areas}
        if not programs:
            continue
        layers, sources = _city_layers(city)
        for route, availability in programs.items():
            general = policy.availability.get(route)
            key = (f"availability.{route}.areas" if general is not None and availability.areas is general.areas
                   else f"cities.{city}.availability.{route}.areas")
            for layer, areas in sorted(availability.areas.items()):
                where = f"{policy.path}: key '{key}.{layer}': the {route} program in {city}"
                if layer not in layers:
                    raise ConfigError(f"{where} serves areas of layer {layer!r}, which {city} does not have "
                                      f"(layers: {', '.join(sorted(layers)) or 'none'}; {sources})")
                known, no_place = layers[layer]
                for area in sorted(areas):
                    if area in no_place:
                        raise ConfigError(f"{where} serves {layer} {area!r}, which the city's mapping marks as "
                                          f"no place (non_geographic; {sources})")
                    if known is not None and area not in known:
                        raise ConfigError(f"{where} serves {layer} {area!r}, not one of the layer's "
                                          f"{len(known)} areas ({sources})")


def _city_layers(city: str) -> tuple[dict[str, tuple[frozenset[str] | None, frozenset[str]]], str]:
    """The city's area layers → (their areas in upper case when the polygons alone give them, else
    None; the values that are no place), and the files that say so."""
    from divert import reference
    from divert.adapters.crime import parse_crime_mapping
    from divert.adapters.mapping import parse_mapping

    columns: set[str] = set()
    polygons: dict[str, frozenset[str]] = {}
    no_place: dict[str, set[str]] = {}
    files = []
    for kind, parse in (("cities", parse_mapping), ("crime", parse_crime_mapping)):
        if city not in reference.available(kind):
            continue
        mapping = reference.load(kind, city, parse, what=f"{kind} mapping")
        files.append(f"reference/{kind}/{city}.yaml")
        columns |= set(mapping.areas)
        for layer, values in getattr(mapping, "non_geographic", {}).items():
            no_place.setdefault(layer, set()).update(v.strip().upper() for v in values)
        if mapping.area_layers:
            from divert.areas import load_area_index

            files.append(f"reference/areas/{mapping.area_layers}.yaml")
            for layer in load_area_index(mapping.area_layers).layers:
                polygons[layer.name] = frozenset(str(a).strip().upper() for a in layer.areas)
    layers = {layer: (None if layer in columns else polygons[layer], frozenset(no_place.get(layer, ())))
              for layer in columns | set(polygons)}
    return layers, ", ".join(files) or f"no mapping for {city} in reference/cities/ or reference/crime/"


# The file's shape, checked by msgspec (types, unknown keys: divert.reference.convert names the key);
# what a type cannot say (routes, violent codes, hours, time zones) is checked in parse_policy.
Text = str | int | float          # YAML reads `version: 2026.1` as a number and a code 911 as one


class DisqualifierSpec(Struct, forbid_unknown_fields=True, frozen=True):
    reason: Text | None = None
    keywords: list[str | int] | None = None
    codes: list[str | int] | None = None
    route: str = "police"
    crisis_route: str | None = None


class AvailabilitySpec(Struct, forbid_unknown_fields=True, frozen=True):
    # UNSET (absent) inherits the general availability's value; a city overrides only what it names
    hours: list[str | int] | UnsetType = UNSET
    areas: dict[str, list[str | int]] | UnsetType = UNSET
    fallback: str | UnsetType = UNSET


class InsufficientSpec(Struct, forbid_unknown_fields=True, frozen=True):
    min_confidence: Annotated[float, Meta(ge=0, le=1)] = 0.6
    codes: list[str | int] = []
    route: str = "police"


class CitySpec(Struct, forbid_unknown_fields=True, frozen=True):
    timezone: str | None = None           # declared once, in the city's mapping; here only if it agrees
    priority_threshold: int | None = None
    availability: dict[str, AvailabilitySpec] = {}


class PolicySpec(Struct, forbid_unknown_fields=True, frozen=True):
    version: Text
    default_route: str = "police"
    routes: dict[str, list[str | int]] = {}
    insufficient_information: InsufficientSpec = InsufficientSpec()
    disqualifiers: dict[str, DisqualifierSpec] = {}
    high_priority: DisqualifierSpec = DisqualifierSpec(reason="high priority")
    availability: dict[str, AvailabilitySpec] = {}
    cities: dict[str, CitySpec | None] = {}


def parse_policy(data: Any, origin: str = "<memory>", timezones: Mapping[str, str] | None = None) -> Policy:
    """Build a :class:`Policy` from parsed YAML; errors name ``origin`` and the key. ``timezones``:
    each city's zone as its mapping declares it, used where the policy names none.

    >>> parse_policy({"version": "x", "routes": {"crisis": ["ASSAULT"]}})
    Traceback (most recent call last):
    ...
    divert.exceptions.ConfigError: <memory>: key 'routes.crisis': APCO ASSAULT is violent and may not go to a civilian team
    >>> parse_policy({"version": "x", "cities": {"seattle": {"priority_treshold": 1}}})
    Traceback (most recent call last):
    ...
    divert.exceptions.ConfigError: <memory>: key 'cities.seattle.priority_treshold': unknown key
    """
    from divert.reference import convert

    spec = convert(data, PolicySpec, origin)
    check = _Checks(origin)
    version = str(spec.version).strip()
    if not version:
        check.fail("version", "must be a non-empty string")
    default_route = check.route(spec.default_route, "default_route")
    routes: dict[str, str] = {}
    for route, codes in spec.routes.items():
        check.route(route, f"routes.{route}")
        for code in _codes(codes):
            if code in routes and routes[code] != route:
                check.fail(f"routes.{route}", f"APCO {code} is also listed under {routes[code]}")
            if route in CIVILIAN_ROUTES and code in VIOLENT_CODES:
                check.fail(f"routes.{route}", f"APCO {code} is violent and may not go to a civilian team")
            routes[code] = route
    ins = spec.insufficient_information
    disqualifiers = tuple(check.disqualifier(name, d, f"disqualifiers.{name}")
                          for name, d in spec.disqualifiers.items())
    high = check.disqualifier("high_priority", spec.high_priority, "high_priority", needs_match=False)
    availability = {}
    for route, over in spec.availability.items():
        check.route(route, f"availability.{route}")
        availability[route] = check.availability(over, f"availability.{route}")
    cities = {name: check.city(name, city or CitySpec(), availability, (timezones or {}).get(name))
              for name, city in spec.cities.items()}
    return Policy(
        version=version, routes=routes, default_route=default_route, min_confidence=float(ins.min_confidence),
        insufficient_codes=frozenset(_codes(ins.codes)),
        insufficient_route=check.disq_route(ins.route, "insufficient_information.route"),
        disqualifiers=disqualifiers, high_priority=high, availability=availability, cities=cities,
        path=origin, timezones=dict(timezones or {}))


def parse_hours(texts: list[str], origin: str = "--hours") -> frozenset[int]:
    """Hours of week (0 = Monday 00h, local) from the policy's notation; errors name ``origin``.

    >>> sorted(parse_hours(["mon 07:00-09:00", "sun 23:00-24:00"]))
    [7, 8, 167]
    """
    check = _Checks(origin)
    return frozenset(h for text in texts for h in check.hours(text, ""))


def _codes(values: list[str | int]) -> list[str]:
    return [str(v).strip().upper() for v in values]


class _Checks:
    """What the spec's types cannot say, each failure a ConfigError naming the file and the key."""

    def __init__(self, origin: str):
        self.origin = origin

    def fail(self, key: str, message: str):
        raise ConfigError(f"{self.origin}: key '{key}': {message}" if key else f"{self.origin}: {message}")

    def route(self, value: str, key: str) -> str:
        if value not in ROUTES:
            self.fail(key, f"unknown route {value!r} (routes: {', '.join(ROUTES)})")
        return value

    def disq_route(self, value: str, key: str) -> str:
        if value not in DISQUALIFIER_ROUTES:
            self.fail(key, f"must be one of {', '.join(DISQUALIFIER_ROUTES)}, got {value!r}")
        return value

    def disqualifier(self, name: str, spec: DisqualifierSpec, key: str, needs_match: bool = True) -> Disqualifier:
        if needs_match and spec.keywords is None and spec.codes is None:
            self.fail(key, "needs keywords or codes")
        reason = str(spec.reason).strip() if spec.reason is not None else ""
        if spec.reason is not None and not reason:
            self.fail(f"{key}.reason", "must be a non-empty string")
        return Disqualifier(
            name=name, reason=reason or name.replace("_", " "),
            route=self.disq_route(spec.route, f"{key}.route"),
            crisis_route=self.disq_route(spec.crisis_route, f"{key}.crisis_route") if spec.crisis_route else None,
            keywords=keyword_pattern(_codes(spec.keywords)) if spec.keywords is not None else None,
            codes=frozenset(_codes(spec.codes)) if spec.codes is not None else None)

    def availability(self, spec: AvailabilitySpec, key: str, base: Availability | None = None) -> Availability:
        hours = base.hours if base else None
        if spec.hours is not UNSET:
            hours = frozenset(h for i, text in enumerate(spec.hours) for h in self.hours(str(text), f"{key}.hours[{i}]"))
        areas = base.areas if base else None
        if spec.areas is not UNSET:
            areas = {layer: frozenset(_codes(values)) for layer, values in spec.areas.items()}
        fallback = spec.fallback if spec.fallback is not UNSET else base.fallback if base else "police"
        return Availability(hours=hours, areas=areas, fallback=self.disq_route(fallback, f"{key}.fallback"))

    def city(self, name: str, spec: CitySpec, availability: Mapping[str, Availability],
             mapped: str | None) -> CityPolicy:
        key = f"cities.{name}"
        if spec.timezone and mapped and spec.timezone != mapped:
            self.fail(f"{key}.timezone", f"{spec.timezone}, but the city's mapping says {mapped}: declare it once, "
                                         "in the mapping")
        zone_name = spec.timezone or mapped or "UTC"
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(f"{key}.timezone", f"unknown time zone {zone_name!r}")
        merged = dict(availability)
        for route, over in spec.availability.items():
            self.route(route, f"{key}.availability.{route}")
            merged[route] = self.availability(over, f"{key}.availability.{route}", base=availability.get(route))
        return CityPolicy(name, zone, spec.priority_threshold, merged)

    def hours(self, text: str, key: str) -> list[int]:
        m = _HOURS.match(text.strip().lower())
        if not m or m["d1"] not in DAYS or (m["d2"] and m["d2"] not in DAYS):
            self.fail(key, f"{text.lower()!r} is not like 'mon-fri 08:00-20:00' (whole hours)")
        d1 = DAYS.index(m["d1"])
        d2 = DAYS.index(m["d2"]) if m["d2"] else d1
        h1, h2 = int(m["h1"]), int(m["h2"])
        if not 0 <= h1 < h2 <= 24 or d2 < d1:
            self.fail(key, f"{text.lower()!r}: start must come before end (hours 0-24, days mon..sun)")
        return [d * 24 + h for d in range(d1, d2 + 1) for h in range(h1, h2)]
