"""Leave-one-city-out evaluation of the crosswalk suggester over every labelled vocabulary.

Each city in turn is held out: a suggester is built from every OTHER city's labels (its
crosswalk, and its rows of the published mapping), the held-out city's call types are
suggested, and the suggestions are scored against the held-out labels, weighted by the
city's call volume (equal weights when the city has no volume data):

- ``coverage``: share of volume suggested with confidence >= 0.5;
- ``code_acc`` / ``route_acc``: share of volume whose APCO code / route is the labelled one
  (cities labelled with APCO codes only);
- ``bh_recall``: behavioural-health volume routed to crisis or co-response;
- ``police_civ``: police-only volume (violent, weapons, DV, sex offences, child abuse) given a
  civilian route — must be 0;
- ``complaint_civ``: complaint / assist-the-public volume given a civilian route.

``mangle`` damages strings the way an unseen CAD does (truncation to a field width,
abbreviations, dropped vowels, numeric code prefixes) for a robustness run.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from divert.crosswalk import Crosswalk, normalize_type, violent_match
from divert.suggest.families import (
    BEHAVIOURAL_HEALTH,
    COMPLAINT_ASSIST,
    POLICE_ONLY,
    code_family,
    vera_family,
)
from schemas.records import CIVILIAN_ROUTES

COVERAGE_AT = 0.5


@dataclass(frozen=True)
class LabelledType:
    call_type: str
    family: str
    code: str | None = None      # None when the label is a published category only
    confidence: float = 1.0


@dataclass
class Vocabulary:
    """One city's labelled call types, with the calls per normalized type when known."""

    city: str
    source: str                  # "crosswalk" or "published"
    types: list[LabelledType]
    volumes: Mapping[str, float] | None = None

    def weight(self, call_type: str) -> float:
        if self.volumes is None:
            return 1.0
        return float(self.volumes.get(normalize_type(call_type), 0.0))


def crosswalk_vocabulary(cw: Crosswalk, volumes: Mapping[str, float] | None = None) -> Vocabulary:
    types = [LabelledType(e.call_type, code_family(e.apco_code), e.apco_code, e.confidence)
             for e in cw.entries.values()]
    return Vocabulary(cw.city, "crosswalk", types, volumes)


def published_vocabularies(rows: Iterable[Mapping]) -> list[Vocabulary]:
    """Vera-style rows (city, call_type, calls, vera_category) → one vocabulary per city
    (lower-case, spaces as underscores), volumes from the ``calls`` column."""
    by_city: dict[str, tuple[dict[str, LabelledType], dict[str, float]]] = {}
    for r in rows:
        city = str(r["city"]).strip().lower().replace(" ", "_")
        types, vols = by_city.setdefault(city, ({}, {}))
        key = normalize_type(str(r["call_type"]))
        if not key:
            continue
        types.setdefault(key, LabelledType(str(r["call_type"]), vera_family(r.get("vera_category"))))
        try:
            calls = float(r.get("calls") or 0)
        except (TypeError, ValueError):
            calls = 0.0
        vols[key] = vols.get(key, 0.0) + calls
    return [Vocabulary(city, "published", list(t.values()), v) for city, (t, v) in by_city.items()]


@dataclass
class CityScore:
    city: str
    labels: str
    types: int = 0
    volume: float = 0.0
    sums: dict[str, float] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        self.sums[key] = self.sums.get(key, 0.0) + value

    def ratio(self, num: str, den: str) -> float | None:
        d = self.sums.get(den, 0.0)
        return self.sums.get(num, 0.0) / d if d else None


def _true_route(code: str, call_type: str, route_for: Callable[[str | None], str]) -> str:
    route = route_for(code)
    if route in CIVILIAN_ROUTES and violent_match(call_type):
        route = "co_response" if route == "crisis" else "police"
    return route


def score_city(held: Vocabulary, suggest_one, route_for, transform=None) -> CityScore:
    """Suggest every labelled type of ``held`` and add up the volume-weighted measures."""
    sc = CityScore(held.city, "APCO" if held.source == "crosswalk" else "category")
    for t in held.types:
        w = held.weight(t.call_type)
        if w <= 0:
            continue
        text = transform(t.call_type) if transform else t.call_type
        s = suggest_one(text, int(w))
        civilian = s.route in CIVILIAN_ROUTES
        sc.types += 1
        sc.volume += w
        sc.add("all", w)
        sc.add("covered", w * (s.confidence >= COVERAGE_AT))
        if t.code is not None:
            sc.add("coded", w)
            sc.add("code_ok", w * (s.apco_code == t.code))
            sc.add("route_ok", w * (s.route == _true_route(t.code, t.call_type, route_for)))
        if t.family == BEHAVIOURAL_HEALTH:
            sc.add("bh", w)
            sc.add("bh_ok", w * (s.route in ("crisis", "co_response")))
        elif t.family == POLICE_ONLY:
            sc.add("po", w)
            sc.add("po_civ", w * civilian)
        elif t.family == COMPLAINT_ASSIST:
            sc.add("ca", w)
            sc.add("ca_civ", w * civilian)
    return sc


def leave_one_city_out(vocabularies: list[Vocabulary], build, route_for,
                       transform=None, cities: Iterable[str] | None = None) -> list[CityScore]:
    """``build(training_vocabularies)`` returns an object with ``suggest_one(text, calls)``.
    Every city with a vocabulary is held out in turn (or only ``cities``); the vocabularies of
    the held-out city — crosswalk and published alike — are left out of its training set."""
    held_cities = list(dict.fromkeys(cities or [v.city for v in vocabularies]))
    scores = []
    for city in held_cities:
        training = [v for v in vocabularies if v.city != city]
        suggester = build(training)
        for held in (v for v in vocabularies if v.city == city):
            if held.source == "published" and any(
                    v.city == city and v.source == "crosswalk" for v in vocabularies):
                continue  # a city with an APCO crosswalk is scored on it
            scores.append(score_city(held, suggester.suggest_one, route_for, transform))
    return scores


def _fmt(x: float | None) -> str:
    return "   -" if x is None else f"{x:.3f}"


HEADER = (f"{'city':<13} {'labels':<8} {'types':>5} {'volume':>9} {'coverage':>8} {'code_acc':>8} "
          f"{'route_acc':>9} {'bh_recall':>9} {'police_civ':>10} {'complaint_civ':>13}")


def format_table(scores: list[CityScore]) -> str:
    lines = [HEADER]
    for s in scores:
        lines.append(
            f"{s.city:<13} {s.labels:<8} {s.types:>5} {s.volume:>9,.0f} "
            f"{_fmt(s.ratio('covered', 'all')):>8} {_fmt(s.ratio('code_ok', 'coded')):>8} "
            f"{_fmt(s.ratio('route_ok', 'coded')):>9} {_fmt(s.ratio('bh_ok', 'bh')):>9} "
            f"{_fmt(s.ratio('po_civ', 'po')):>10} {_fmt(s.ratio('ca_civ', 'ca')):>13}")
    return "\n".join(lines)


# --- robustness: strings as an unseen CAD might write them --------------------------------------

_VOWELS = set("AEIOU")


def mangle(text: str, rng: random.Random, abbreviations: Mapping[str, str] | None = None) -> str:
    """One damaged version of ``text``: words abbreviated (``abbreviations`` maps a full word to
    its short form) or vowel-stripped, an optional code prefix, and a cut to a CAD field width.

    >>> mangle("DISTURBANCE - MENTAL HEALTH", random.Random(3))
    'DISTURBANC'
    """
    words = normalize_type(text).split(" ")
    out = []
    for w in words:
        r = rng.random()
        if abbreviations and w in abbreviations and r < 0.5:
            w = abbreviations[w]
        elif len(w) > 6 and r < 0.15:
            w = w[0] + "".join(c for c in w[1:] if c not in _VOWELS)
        out.append(w)
    s = " ".join(out)
    if rng.random() < 0.2:
        s = f"{rng.randint(100, 999)}{rng.choice('ABCD')}_{s}"
    width = rng.choice([10, 12, 14, 16, 20, 24, 30])
    if len(s) > width and rng.random() < 0.7:
        s = s[:width].rstrip(" -/")
    return s


def published_path():
    from divert.crosswalk import crosswalk_dir

    return crosswalk_dir() / "published" / "vera_call_types.csv"


def load_published_vocabularies(path=None) -> list[Vocabulary]:
    """The published label-only vocabularies (``reference/crosswalks/published``); none when the
    file is absent."""
    import csv

    path = path or published_path()
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return published_vocabularies(list(csv.DictReader(f)))
    except FileNotFoundError:
        return []
