"""The routing policy: APCO code → route, the disqualifiers, and when each team is in service.

The policy is a YAML file that communities edit (``reference/policies/default.yaml``); this
module only loads and checks it, and every error names the file and the key.

>>> policy = load_policy()
>>> policy.version
'default-2026.1'
>>> policy.route_for("WELFARE"), policy.route_for("ASSAULT"), policy.route_for("NOPE")
('crisis', 'police', 'police')
>>> [d.name for d in policy.disqualifiers if d.matches("MENTAL - PERSON WITH KNIFE", "EDP")]
['weapon']
>>> policy.city("seattle").priority_threshold
1
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from divert.adapters.reader import read_yaml
from divert.exceptions import ConfigError
from divert.paths import reference_dir
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
            parts.append(r"(?<![A-Z0-9])" + re.escape(stem))
        else:
            parts.append(r"(?<![A-Z0-9])" + re.escape(word) + r"(?![A-Z0-9])")
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
        parts.append(r"(?<![A-Z0-9])(?:" + alternation + r")(?=[^A-Z0-9]*$)")
    return re.compile("|".join(parts), re.IGNORECASE)


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

    def matches(self, call_type: str, code: str | None) -> bool:
        return self.match(call_type, code) is not None

    def route_from(self, base_route: str) -> str:
        if base_route in ("crisis", "co_response") and self.crisis_route:
            return self.crisis_route
        return self.route


@dataclass(frozen=True)
class Availability:
    """When and where a team is in service. ``hours`` is a set of hours of week (0 = Monday
    00h, local time), None when always in service; ``areas`` maps an area layer to the
    values served, None when the whole city is served."""

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
        """None when served, else 'layer=value' naming the area outside the service."""
        for layer, allowed in (self.areas or {}).items():
            value = areas.get(layer)
            if value not in allowed:
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
    """Load and check a policy file (default ``reference/policies/default.yaml``). A city's time
    zone comes from its mapping (reference/cities/ or reference/crime/); a policy that names
    another one for the city is an error."""
    from divert import reference

    path = Path(path) if path else reference_dir() / "policies" / "default.yaml"
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
    return policy


def parse_policy(data: Any, origin: str = "<memory>", timezones: Mapping[str, str] | None = None) -> Policy:
    """Build a :class:`Policy` from parsed YAML; errors name ``origin`` and the key. ``timezones``:
    each city's zone as its mapping declares it, used where the policy names none.

    >>> parse_policy({"version": "x", "routes": {"crisis": ["ASSAULT"]}})
    Traceback (most recent call last):
    ...
    divert.exceptions.ConfigError: <memory>: key 'routes.crisis': APCO ASSAULT is violent and may not go to a civilian team
    """
    p = _Reader(origin)
    data = p.mapping(data, "")
    version = p.string(data, "version", required=True)
    default_route = p.route(data.get("default_route", "police"), "default_route")
    routes: dict[str, str] = {}
    for route, codes in p.mapping(data.get("routes", {}), "routes").items():
        p.route(route, f"routes.{route}")
        for code in p.string_list(codes, f"routes.{route}"):
            if code in routes and routes[code] != route:
                p.fail(f"routes.{route}", f"APCO {code} is also listed under {routes[code]}")
            if route in CIVILIAN_ROUTES and code in VIOLENT_CODES:
                p.fail(f"routes.{route}", f"APCO {code} is violent and may not go to a civilian team")
            routes[code] = route
    ins = p.mapping(data.get("insufficient_information", {}), "insufficient_information")
    min_conf = p.number(ins.get("min_confidence", 0.6), "insufficient_information.min_confidence")
    disq = tuple(p.disqualifier(name, spec, f"disqualifiers.{name}") for name, spec in
                 p.mapping(data.get("disqualifiers", {}), "disqualifiers").items())
    high = p.disqualifier("high_priority", data.get("high_priority", {"reason": "high priority"}),
                          "high_priority", needs_match=False)
    availability = {route: p.availability(spec, f"availability.{route}") for route, spec in
                    p.mapping(data.get("availability", {}), "availability").items()}
    for route in availability:
        p.route(route, f"availability.{route}")
    cities = {}
    for name, spec in p.mapping(data.get("cities", {}), "cities").items():
        key = f"cities.{name}"
        spec = p.mapping(spec or {}, key)
        declared, mapped = p.string(spec, "timezone", key=key), (timezones or {}).get(name)
        if declared and mapped and declared != mapped:
            p.fail(f"{key}.timezone", f"{declared}, but the city's mapping says {mapped}: declare it once, "
                                      "in the mapping")
        tz_name = declared or mapped or "UTC"
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"{origin}: key '{key}.timezone': unknown time zone {tz_name!r}") from exc
        threshold = spec.get("priority_threshold")
        if threshold is not None and (not isinstance(threshold, int) or isinstance(threshold, bool)):
            p.fail(f"{key}.priority_threshold", f"must be an integer or null, got {threshold!r}")
        merged = dict(availability)
        for route, over in p.mapping(spec.get("availability", {}), f"{key}.availability").items():
            p.route(route, f"{key}.availability.{route}")
            merged[route] = p.availability(over, f"{key}.availability.{route}",
                                           base=availability.get(route))
        cities[name] = CityPolicy(name, tz, threshold, merged)
    return Policy(
        version=version, routes=routes, default_route=default_route, min_confidence=min_conf,
        insufficient_codes=frozenset(p.string_list(ins.get("codes", []), "insufficient_information.codes")),
        insufficient_route=p.disq_route(ins.get("route", "police"), "insufficient_information.route"),
        disqualifiers=disq, high_priority=high, availability=availability, cities=cities,
        path=origin, timezones=dict(timezones or {}))


def parse_hours(texts: list[str], origin: str = "--hours") -> frozenset[int]:
    """Hours of week (0 = Monday 00h, local) from the policy's notation; errors name ``origin``.

    >>> sorted(parse_hours(["mon 07:00-09:00", "sun 23:00-24:00"]))
    [7, 8, 167]
    """
    p = _Reader(origin)
    return frozenset(h for text in texts for h in p._hours(text.lower(), ""))


class _Reader:
    """Typed access to the parsed YAML, raising ConfigError with the dotted key."""

    def __init__(self, origin: str):
        self.origin = origin

    def fail(self, key: str, message: str):
        raise ConfigError(f"{self.origin}: key '{key}': {message}" if key else f"{self.origin}: {message}")

    def mapping(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict):
            self.fail(key, f"must be a mapping, got {type(value).__name__}")
        return value

    def string(self, data: dict, name: str, *, key: str = "", required: bool = False) -> str | None:
        full = f"{key}.{name}" if key else name
        value = data.get(name)
        if value is None:
            if required:
                self.fail(full, "is required")
            return None
        if not isinstance(value, str | int | float) or not str(value).strip():
            self.fail(full, f"must be a non-empty string, got {value!r}")
        return str(value)

    def string_list(self, value: Any, key: str) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            self.fail(key, f"must be a list of strings, got {value!r}")
        return [str(v).strip().upper() for v in value]

    def number(self, value: Any, key: str) -> float:
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
            self.fail(key, f"must be a number between 0 and 1, got {value!r}")
        return float(value)

    def route(self, value: Any, key: str) -> str:
        if value not in ROUTES:
            self.fail(key, f"unknown route {value!r} (routes: {', '.join(ROUTES)})")
        return value

    def disq_route(self, value: Any, key: str) -> str:
        if value not in DISQUALIFIER_ROUTES:
            self.fail(key, f"must be one of {', '.join(DISQUALIFIER_ROUTES)}, got {value!r}")
        return value

    def disqualifier(self, name: str, spec: Any, key: str, needs_match: bool = True) -> Disqualifier:
        spec = self.mapping(spec, key)
        unknown = set(spec) - {"reason", "keywords", "codes", "route", "crisis_route"}
        if unknown:
            self.fail(f"{key}.{sorted(unknown)[0]}", "unknown key")
        kws = spec.get("keywords")
        codes = spec.get("codes")
        if needs_match and kws is None and codes is None:
            self.fail(key, "needs keywords or codes")
        crisis = spec.get("crisis_route")
        return Disqualifier(
            name=name, reason=self.string(spec, "reason", key=key) or name.replace("_", " "),
            route=self.disq_route(spec.get("route", "police"), f"{key}.route"),
            crisis_route=self.disq_route(crisis, f"{key}.crisis_route") if crisis else None,
            keywords=keyword_pattern(self.string_list(kws, f"{key}.keywords")) if kws is not None else None,
            codes=frozenset(self.string_list(codes, f"{key}.codes")) if codes is not None else None)

    def availability(self, spec: Any, key: str, base: Availability | None = None) -> Availability:
        spec = self.mapping(spec, key)
        unknown = set(spec) - {"hours", "areas", "fallback"}
        if unknown:
            self.fail(f"{key}.{sorted(unknown)[0]}", "unknown key")
        hours = base.hours if base else None
        if "hours" in spec:
            hours = frozenset(h for i, text in enumerate(self.string_list(spec["hours"], f"{key}.hours"))
                              for h in self._hours(text.lower(), f"{key}.hours[{i}]"))
        areas = base.areas if base else None
        if "areas" in spec:
            areas = {layer: frozenset(str(v) for v in self.string_list(vals, f"{key}.areas.{layer}"))
                     for layer, vals in self.mapping(spec["areas"], f"{key}.areas").items()}
        fallback = self.disq_route(spec.get("fallback", base.fallback if base else "police"),
                                   f"{key}.fallback")
        return Availability(hours=hours, areas=areas, fallback=fallback)

    def _hours(self, text: str, key: str) -> range | list[int]:
        m = _HOURS.match(text.strip())
        if not m or m["d1"] not in DAYS or (m["d2"] and m["d2"] not in DAYS):
            self.fail(key, f"{text!r} is not like 'mon-fri 08:00-20:00' (whole hours)")
        d1 = DAYS.index(m["d1"])
        d2 = DAYS.index(m["d2"]) if m["d2"] else d1
        h1, h2 = int(m["h1"]), int(m["h2"])
        if not 0 <= h1 < h2 <= 24 or d2 < d1:
            self.fail(key, f"{text!r}: start must come before end (hours 0-24, days mon..sun)")
        return [d * 24 + h for d in range(d1, d2 + 1) for h in range(h1, h2)]
