"""A city's call types → APCO common incident-type codes, and the guard against violent types.

Crosswalks live in ``reference/crosswalks/<city>.csv`` (``call_type,apco_code,confidence,note``).
Types match case-insensitively after whitespace normalization (Seattle's older extracts
prefix final types with ``--``, which is dropped too).

>>> cw = load_crosswalk("seattle")
>>> cw.lookup("  service -  welfare check ")
('WELFARE', 0.95)
>>> cw.lookup("--SUSPICIOUS CIRCUM. - SUSPICIOUS PERSON")
('PERSUSP', 0.95)
>>> cw.lookup("NO SUCH TYPE")
(None, 0.0)
>>> violent_match("Disturbance Family Knife Involved"), violent_match("Disturbance Loud Music")
('FAMILY', None)
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

from divert.exceptions import ConfigError
from divert.paths import reference_dir
from divert.policy import keyword_pattern

_SPACE = re.compile(r"\s+")


def normalize_type(call_type: str | None) -> str:
    """Upper case, single spaces, no leading dashes.

    >>> normalize_type("--Disturbance   - Other ")
    'DISTURBANCE - OTHER'
    """
    if not call_type:
        return ""
    return _SPACE.sub(" ", call_type).strip().lstrip("-").strip().upper()


# The guard: words that make a call type read as violent, armed, an in-progress crime or
# domestic violence. A type that matches is never given a civilian route, whatever the
# crosswalk or the policy say; it is code, not policy, so that no edit can switch it off.
# Matching is whole-word (a trailing * matches any ending), after abbreviations common in
# CAD vocabularies (ASLT, WPN, DV, IP/JO).
GUARD_KEYWORDS = [
    # weapons
    "GUN*", "SHOT", "SHOTS", "SHOOT*", "SHOTSPOTTER", "KNIFE", "KNIVES", "STAB*", "CUTTING",
    "CUT", "WEAPON*", "WEAP", "WEAPN*", "WPN*", "ARMED", "FIREARM*", "RIFLE*", "PISTOL*",
    "DEADLY", "BOMB*", "EXPLOSIVE*",
    # violence
    "ASSAULT*", "ASLT", "BATTERY", "FIGHT*", "ROBB*", "HOLDUP", "HOLD-UP", "HOLD UP",
    "CARJACK*", "STRONG ARM", "STRONG-ARM", "STARM", "SNATCH", "HOMICIDE", "MURDER*",
    "KIDNAP*", "ABDUCT*", "HOSTAGE*", "BARRICADE*", "SNIPER", "RAPE*", "SEX ASSAULT",
    "SEXUAL ASSAULT", "MOLEST*", "THREAT*", "THRT*", "VIOLEN*", "RIOT*", "TERROR*", "ARSON",
    "STALK*", "ABUSE*", "ENTICE*", "PREDATOR*", "TRAFFICKING", "EXTORT*",
    "OFFICER IN TROUBLE", "HELP THE OFFICER", "ASSIST OFFICER", "MAYDAY", "PANIC", "DURESS",
    # domestic violence
    "DV", "DOMESTIC", "FAMILY", "PROTECTIVE ORDER", "PROTECTION ORDER", "REST ORDER",
    "REST ORD", "RESTRAINING", "NO CONTACT", "CUSTODIAL",
    # in-progress crime
    "IN PROGRESS", "IN-PROGRESS", "IP", "JO", "IP/JO", "CRITICAL", "OCCUPIED",
]
_GUARD = keyword_pattern(GUARD_KEYWORDS)


def violent_match(call_type: str | None) -> str | None:
    """The guard word found in a call type, or None when it does not read as violent."""
    if not call_type:
        return None
    found = _GUARD.search(normalize_type(call_type))
    return found.group(0).upper() if found else None


@dataclass(frozen=True)
class Entry:
    call_type: str
    apco_code: str
    confidence: float
    note: str = ""


class Crosswalk:
    """One city's call types; ``lookup`` returns ``(apco_code | None, confidence)``."""

    def __init__(self, city: str, entries: list[Entry] | tuple[Entry, ...] = ()):
        self.city = city
        self.entries: dict[str, Entry] = {}
        for e in entries:
            self.entries[normalize_type(e.call_type)] = e

    def lookup(self, call_type: str | None) -> tuple[str | None, float]:
        e = self.entries.get(normalize_type(call_type))
        return (e.apco_code, e.confidence) if e else (None, 0.0)

    def entry(self, call_type: str | None) -> Entry | None:
        return self.entries.get(normalize_type(call_type))

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"Crosswalk({self.city!r}, {len(self)} types)"


def crosswalk_dir() -> Path:
    return reference_dir() / "crosswalks"


def known_cities() -> list[str]:
    return sorted(p.stem for p in crosswalk_dir().glob("*.csv") if p.stem != "apco_codes")


def load_apco_codes(path: Path | None = None) -> dict[str, str]:
    """APCO code → its published description (``reference/crosswalks/apco_codes.csv``)."""
    path = path or crosswalk_dir() / "apco_codes.csv"
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return {r["code"]: r["description"] for r in csv.DictReader(f)}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: APCO code list not found") from exc


def load_crosswalk(city: str, path: Path | None = None) -> Crosswalk:
    """Read and check ``reference/crosswalks/<city>.csv`` (or ``path``)."""
    path = Path(path) if path else crosswalk_dir() / f"{city}.csv"
    codes = load_apco_codes()
    try:
        f = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no crosswalk for city {city!r} "
                          f"(known: {', '.join(known_cities())})") from exc
    entries = []
    with f:
        reader = csv.DictReader(f)
        missing = {"call_type", "apco_code", "confidence"} - set(reader.fieldnames or ())
        if missing:
            raise ConfigError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            code = (row["apco_code"] or "").strip().upper()
            if code not in codes:
                raise ConfigError(f"{path}:{line}: column 'apco_code': unknown APCO code {code!r}")
            try:
                conf = float(row["confidence"])
            except (TypeError, ValueError):
                conf = -1.0
            if not 0 <= conf <= 1:
                raise ConfigError(f"{path}:{line}: column 'confidence': must be 0-1, got {row['confidence']!r}")
            entries.append(Entry(row["call_type"], code, conf, (row.get("note") or "").strip()))
    return Crosswalk(city, entries)


# --- suggestions for a new city's call types -------------------------------------------------

# CAD shorthand → the words the APCO descriptions and known crosswalks use
_ABBREVIATIONS = {
    "ASLT": "ASSAULT", "ACC": "ACCIDENT", "MVC": "ACCIDENT", "MVA": "ACCIDENT", "VEH": "VEHICLE",
    "AUTO": "VEHICLE", "SUSP": "SUSPICIOUS", "PERS": "PERSON", "SUBJ": "PERSON", "DIST": "DISTURBANCE",
    "WPN": "WEAPON", "WEAP": "WEAPON", "WEAPN": "WEAPON", "INJ": "INJURY", "TRBL": "TROUBLE",
    "DV": "DOMESTIC", "BURG": "BURGLARY", "PROP": "PROPERTY", "ABAND": "ABANDONED",
    "JUV": "JUVENILE", "RECK": "RECKLESS", "HARAS": "HARASSMENT", "ALRM": "ALARM", "CHK": "CHECK",
    "INFO": "INFORMATION", "MED": "MEDICAL", "EMS": "MEDICAL", "OD": "OVERDOSE", "DOA": "DEATH",
    "INTOX": "INTOXICATED", "DRUNK": "INTOXICATED", "WELF": "WELFARE", "NARC": "DRUGS",
    "NARCOTICS": "DRUGS", "NARCOTIC": "DRUGS", "PDO": "ACCIDENT",
}
_WORD = re.compile(r"[A-Z0-9]+")


def _tokens(text: str) -> list[str]:
    return [_ABBREVIATIONS.get(w, w) for w in _WORD.findall(normalize_type(text))]


def _features(text: str) -> dict[str, float]:
    """Word tokens (abbreviations expanded) and character trigrams of each word."""
    feats: dict[str, float] = {}
    for w in _tokens(text):
        feats["w:" + w] = feats.get("w:" + w, 0.0) + 1.0
        padded = f" {w} "
        for i in range(len(padded) - 2):
            g = "c:" + padded[i:i + 3]
            feats[g] = feats.get(g, 0.0) + 0.5
    return feats


@dataclass(frozen=True)
class Suggestion:
    call_type: str
    calls: int
    apco_code: str | None
    route: str
    confidence: float
    needs_review: bool
    basis: str


class Suggester:
    """Proposes an APCO code for unseen call types by TF-IDF cosine similarity over word and
    character-trigram features, against the APCO descriptions and every known crosswalk.

    >>> from divert.policy import load_policy
    >>> s = Suggester([load_crosswalk("seattle")], load_apco_codes(), load_policy().route_for)
    >>> r = s.suggest_one("WELFARE CHK")
    >>> r.apco_code, r.route
    ('WELFARE', 'crisis')
    >>> s.suggest_one("PERSON WITH KNIFE - WELFARE CHECK").route
    'co_response'
    """

    def __init__(self, crosswalks, apco: dict[str, str], route_for, review_below: float = 0.6):
        self.route_for = route_for
        self.review_below = review_below
        docs: list[tuple[str, float, str, dict[str, float]]] = []  # code, weight, label, features
        for code, desc in apco.items():
            # the APCO descriptions are the standard but terse: trust them a little less
            docs.append((code, 0.85, f"APCO {code}: {desc}", _features(desc)))
        self.exact: dict[str, tuple[str, float, str]] = {}
        for cw in crosswalks:
            for key, e in cw.entries.items():
                docs.append((e.apco_code, e.confidence, f"{cw.city}: {e.call_type}", _features(key)))
                self.exact.setdefault(key, (e.apco_code, e.confidence, f"{cw.city}: {e.call_type}"))
        df: dict[str, int] = {}
        for *_, f in docs:
            for k in f:
                df[k] = df.get(k, 0) + 1
        n = len(docs)
        self.idf = {k: 1.0 + math.log(n / (1 + v)) for k, v in df.items()}
        self.docs = [(code, w, label, self._unit(f)) for code, w, label, f in docs]
        self.index: dict[str, list[int]] = {}
        for i, (*_, vec) in enumerate(self.docs):
            for k in vec:
                self.index.setdefault(k, []).append(i)

    def _unit(self, feats: dict[str, float]) -> dict[str, float]:
        vec = {k: v * self.idf.get(k, 1.0) for k, v in feats.items()}
        norm = sum(v * v for v in vec.values()) ** 0.5 or 1.0
        return {k: v / norm for k, v in vec.items()}

    def suggest_one(self, call_type: str, calls: int = 0) -> Suggestion:
        key = normalize_type(call_type)
        if key in self.exact:
            code, conf, basis = self.exact[key]
            code_score, margin = conf, 1.0
        else:
            q = self._unit(_features(key))
            scores: dict[int, float] = {}
            for k, v in q.items():
                for i in self.index.get(k, ()):
                    scores[i] = scores.get(i, 0.0) + v * self.docs[i][3][k]
            best: dict[str, tuple[float, str]] = {}
            for i, sim in scores.items():
                code, w, label, _ = self.docs[i]
                s = sim * w
                if s > best.get(code, (0.0, ""))[0]:
                    best[code] = (s, label)
            ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
            if not ranked:
                return self._finish(call_type, calls, None, 0.0, True, "no similar type known")
            code, (code_score, basis) = ranked[0]
            margin = code_score - (ranked[1][1][0] if len(ranked) > 1 else 0.0)
            basis = f"like {basis} ({code_score:.2f})"
        review = code_score < self.review_below or margin < 0.05
        return self._finish(call_type, calls, code, round(min(code_score, 1.0), 3), review, basis)

    def _finish(self, call_type, calls, code, conf, review, basis) -> Suggestion:
        route = self.route_for(code)
        word = violent_match(call_type)
        if word and route in ("crisis", "navigator"):
            # never propose a civilian team for a type that reads as violent
            route = "co_response" if route == "crisis" else "police"
            review = True
            basis += f"; guard: reads as violent ({word!r})"
        return Suggestion(call_type, calls, code, route, conf, review, basis)

    def suggest(self, types: list[tuple[str, int]]) -> list[Suggestion]:
        return [self.suggest_one(t, c) for t, c in types]
