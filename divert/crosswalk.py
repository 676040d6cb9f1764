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
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from divert.adapters.reader import read_yaml
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


# The guard: words that make a call type read as violent, armed, an in-progress crime, domestic
# violence, a sex offence, child abuse or a legal offence. A type that matches is never given a
# civilian route, whatever the crosswalk, the policy or the suggester say. The words are data,
# ``reference/crosswalks/guard.yaml``, read by the live path (here) and by the crosswalk
# suggester alike: one vocabulary, not two lists. It is not policy: the policy file cannot
# switch it off, and a missing or broken guard file — or an empty group in it — stops divert
# rather than letting violent types through. Matching is whole-word (a trailing * matches any
# ending), with the abbreviations and radio / penal code numbers common in CAD vocabularies,
# and a word cut short at the end of the string counts ("... WEAPO", "SEX ASSA").
GUARD_GROUPS = ("weapons", "violence", "domestic_violence", "protection_orders",
                "sex_offences_child_abuse", "legal_offence", "codes", "in_progress")


@dataclass(frozen=True)
class GuardVocabulary:
    keywords: tuple[str, ...]
    not_truncated: frozenset[str]
    sources: dict[str, str]          # word → where it comes from
    pattern: re.Pattern[str]


def guard_path() -> Path:
    return reference_dir() / "crosswalks" / "guard.yaml"


@cache
def _guard(path: Path) -> GuardVocabulary:
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("groups"), dict):
        raise ConfigError(f"{path}: the guard file needs 'groups' (a mapping of word groups)")
    keywords: list[str] = []
    sources: dict[str, str] = {}
    for name in GUARD_GROUPS:
        group = data["groups"].get(name)
        if not isinstance(group, dict) or not group.get("words") or not group.get("source"):
            raise ConfigError(f"{path}: key 'groups.{name}': the guard needs this group, with "
                              "'words' (not empty) and 'source'")
    for name, group in data["groups"].items():
        if not isinstance(group, dict) or not isinstance(group.get("words"), list) or not group.get("source"):
            raise ConfigError(f"{path}: key 'groups.{name}': needs 'words' (a list) and 'source'")
        for w in group["words"]:
            word = str(w).strip().upper()
            if word:
                keywords.append(word)
                sources.setdefault(word, str(group["source"]))
    nt = data.get("not_truncated") or {}
    not_truncated = frozenset(str(w).strip().upper() for w in (nt.get("words") or ()))
    return GuardVocabulary(tuple(keywords), not_truncated, sources,
                           keyword_pattern(keywords, truncated=True, not_truncated=not_truncated))


def guard_vocabulary(path: Path | None = None) -> GuardVocabulary:
    """The guard words (``reference/crosswalks/guard.yaml``, or ``path``), read once."""
    return _guard(Path(path) if path else guard_path())


def violent_match(call_type: str | None) -> str | None:
    """The guard word found in a call type, or None when it does not read as violent."""
    if not call_type:
        return None
    found = guard_vocabulary().pattern.search(normalize_type(call_type))
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
    guard_vocabulary()  # whatever routes a city's calls needs its guard: fail here, not on a call
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


# --- suggestions for a new city's call types: divert.suggest -------------------------------

def __getattr__(name: str):
    """``GUARD_KEYWORDS`` and ``NOT_TRUNCATED`` are read from the guard file on first use;
    ``Suggester`` and ``Suggestion`` live in :mod:`divert.suggest` (imported lazily: it imports
    this module)."""
    if name == "GUARD_KEYWORDS":
        return list(guard_vocabulary().keywords)
    if name == "NOT_TRUNCATED":
        return guard_vocabulary().not_truncated
    if name in ("Suggester", "Suggestion"):
        import divert.suggest

        return getattr(divert.suggest, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
