"""Dispatch language as data: ``reference/crosswalks/dispatch_terms.yaml``.

>>> t = load_terms()
>>> t.abbreviations["ASLT"], t.codes["10-56"], t.cues[0].code
('ASSAULT', 'INTOXICATED SUICIDE', 'SUICTHRT')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from divert.adapters.reader import read_yaml
from divert.exceptions import ConfigError
from divert.paths import reference_dir


@dataclass(frozen=True)
class Cue:
    code: str
    words: frozenset[str]
    unless: frozenset[str] = frozenset()
    reason: str = ""
    source: str = ""


@dataclass(frozen=True)
class DispatchTerms:
    phrases: dict[str, str] = field(default_factory=dict)
    abbreviations: dict[str, str] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    cues: tuple[Cue, ...] = ()
    modifiers: frozenset[str] = frozenset()
    sources: dict[str, str] = field(default_factory=dict)   # term → where it comes from


def _word_lists(data: dict, key: str, path: Path, sources: dict[str, str]) -> list[str]:
    out: list[str] = []
    for i, group in enumerate(data.get(key) or []):
        if not isinstance(group, dict) or not isinstance(group.get("words"), list):
            raise ConfigError(f"{path}: key '{key}[{i}]': needs 'words' (a list) and 'source'")
        if not group.get("source"):
            raise ConfigError(f"{path}: key '{key}[{i}].source': every term needs its source")
        for w in group["words"]:
            out.append(str(w).strip().upper())
            sources.setdefault(out[-1], str(group["source"]))
    return out


def _groups(data: dict, key: str, path: Path, sources: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, group in enumerate(data.get(key) or []):
        if not isinstance(group, dict) or not isinstance(group.get("terms"), dict):
            raise ConfigError(f"{path}: key '{key}[{i}]': needs 'terms' (a mapping) and 'source'")
        if not group.get("source"):
            raise ConfigError(f"{path}: key '{key}[{i}].source': every term needs its source")
        for short, full in group["terms"].items():
            short = str(short).strip().upper()
            out[short] = str(full).strip().upper()
            sources[short] = str(group["source"])
    return out


@cache
def _load(path: Path) -> DispatchTerms:
    data = read_yaml(path) or {}
    if "guard" in data:
        raise ConfigError(f"{path}: key 'guard': the guard words live in one place, "
                          "reference/crosswalks/guard.yaml (read by the live path and the suggester)")
    sources: dict[str, str] = {}
    cues = []
    for i, c in enumerate(data.get("cues") or []):
        if not isinstance(c, dict) or not c.get("code") or not c.get("words"):
            raise ConfigError(f"{path}: key 'cues[{i}]': needs 'code' and 'words'")
        cues.append(Cue(str(c["code"]).upper(), frozenset(str(w).upper() for w in c["words"]),
                        frozenset(str(w).upper() for w in c.get("unless") or ()),
                        str(c.get("reason") or ""), str(c.get("source") or "")))
    return DispatchTerms(
        phrases=_groups(data, "phrases", path, sources),
        abbreviations=_groups(data, "abbreviations", path, sources),
        codes=_groups(data, "codes", path, sources),
        cues=tuple(cues),
        modifiers=frozenset(_word_lists(data, "modifiers", path, sources)),
        sources=sources)


def load_terms(path: Path | None = None) -> DispatchTerms:
    return _load(Path(path) if path else reference_dir() / "crosswalks" / "dispatch_terms.yaml")
