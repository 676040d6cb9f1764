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


# The guard: words that make a call type read as violent, armed, an in-progress crime, domestic
# violence, a sex offence, child abuse or a serious (felony-grade) offence. A type that matches is
# never given a civilian route, whatever the crosswalk, the policy or the suggester say; it is
# code, not policy, so that no edit can switch it off. Matching is whole-word (a trailing *
# matches any ending), with the abbreviations and radio / penal code numbers common in CAD
# vocabularies, and a word cut short at the end of the string counts ("... WEAPO", "SEX ASSA").
GUARD_KEYWORDS = [
    # weapons
    "GUN*", "HANDGUN*", "SHOTGUN*", "SHOT", "SHOTS", "SHTS", "SHTG", "SHOOT*", "SHOTSPOTTER",
    "KNIFE", "KNIVES", "MACHETE*", "STAB*", "CUTTING", "CUT", "WEAPON*", "WEAP", "WEAPN*",
    "WPN*", "WP", "ARMED", "FIREARM*", "RIFLE*", "PISTOL*", "DEADLY", "BRANDISH*", "ADW", "AWDW",
    "BOMB*", "EXPLOSIVE*",
    # violence
    "ASSAULT*", "ASLT", "ASSLT", "BATTERY", "FIGHT*", "ROBB*", "HOLDUP", "HOLD-UP", "HOLD UP",
    "CARJACK*", "HIJACK*", "STRONG ARM", "STRONG-ARM", "STARM", "SNATCH", "HOMICIDE", "MURDER*",
    "MANSLAUGHTER", "KIDNAP*", "ABDUCT*", "HOSTAGE*", "BARRICADE*", "SNIPER", "RAPE*",
    "SEX ASSAULT", "SEXUAL ASSAULT", "MOLEST*", "THREAT*", "THRT*", "VIOLEN*", "VIOLNT*", "RIOT*",
    "TERROR*", "ARSON", "STALK*", "ABUSE*", "ENTICE*", "PREDATOR*", "TRAFFICKING", "EXTORT*",
    "STRANGL*", "STRANGUL*", "HOME INVASION", "DANGER", "IMMINENT*",
    "OFFICER IN TROUBLE", "HELP THE OFFICER", "ASSIST OFFICER", "OFFICER ASSIST*",
    "OFFICER NEEDS*", "OFFICER DOWN", "MAYDAY", "PANIC", "DURESS",
    # domestic violence
    "DV", "DOM", "DOMESTIC*", "FAMILY", "FAM", "IPV", "INTIMATE PARTNER", "PROTECTIVE ORDER",
    "PROTECTION ORDER", "ORDER OF PROTECTION", "REST ORDER", "REST ORD", "RESTRAINING",
    "NO CONTACT", "CUSTODIAL",
    # sex offences and child abuse
    "SEX*", "CSC", "CSEC", "LEWD*", "INDECEN*", "SODOM*", "INCEST*", "FONDL*", "GROP*", "PORN*",
    "OBSCEN*", "PIMP*", "CHILD ABU*", "CHILD NEG*", "CHILD END*", "CHILD ABAND*", "ENDANGER*",
    # legal-offence grades and process: a crime for the police, never a civilian errand
    "AGG", "AGGR", "AGGRAV*", "FELON*", "FEL", "1ST DEG*", "2ND DEG*", "3RD DEG*", "DEGREE",
    "WARRANT*", "WRNT", "WARR",
    # radio and penal code numbers for the above (10-codes; California penal code sections)
    "10-10", "10-32", "187", "207", "211", "215", "240", "242", "243", "245", "246", "261",
    "273.5", "273A", "273D", "288", "417",
    # in-progress crime
    "IN PROGRESS", "IN-PROGRESS", "IN PROG*", "INPROG*", "I/P", "IP", "JO", "IP/JO", "CRITICAL",
    "OCCUPIED",
]
# Words a cut-off guard word could also be the start of: "TRAFFIC VIOL" is a violation, not
# violence. Only the truncated reading is withheld; the whole guard words still match.
NOT_TRUNCATED = frozenset({
    "VIOLATION", "TRAFFIC", "FIRE", "FIREWORKS", "FIRED", "DEAD", "EXPLOSION", "EXPLOITATION",
    "HOLD", "STALLED", "PREDICTIVE", "REST", "CUSTODY", "OCCURRED", "OCCURRENCE", "DOMINO",
    "ABUNDANT", "SEXTON", "FAMOUS", "PANICKED", "GROUP", "OBSCURE",
    "STABLE", "STABILIZE", "ARMORED", "DEGREASE", "FELT", "AGGREGATE",
})
_GUARD = keyword_pattern(GUARD_KEYWORDS, truncated=True, not_truncated=NOT_TRUNCATED)


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


# --- suggestions for a new city's call types: divert.suggest -------------------------------

def __getattr__(name: str):
    """``Suggester`` and ``Suggestion`` live in :mod:`divert.suggest` (imported lazily: it
    imports this module)."""
    if name in ("Suggester", "Suggestion"):
        import divert.suggest

        return getattr(divert.suggest, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
