"""Dispatch language as data: ``reference/crosswalks/dispatch_terms.yaml``.

>>> t = load_terms()
>>> t.abbreviations["ASLT"], t.codes["10-56"], t.cues[0].code
('ASSAULT', 'INTOXICATED SUICIDE', 'SUICTHRT')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from divert.exceptions import ConfigError
from divert.paths import reference_dir


@dataclass(frozen=True)
class Cue:
    code: str
    words: frozenset[str]
    unless: frozenset[str] = frozenset()
    reason: str = ""


@dataclass(frozen=True)
class DispatchTerms:
    phrases: dict[str, str] = field(default_factory=dict)
    abbreviations: dict[str, str] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    cues: tuple[Cue, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)   # term → where it comes from


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
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: dispatch terms not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    sources: dict[str, str] = {}
    cues = []
    for i, c in enumerate(data.get("cues") or []):
        if not isinstance(c, dict) or not c.get("code") or not c.get("words"):
            raise ConfigError(f"{path}: key 'cues[{i}]': needs 'code' and 'words'")
        cues.append(Cue(str(c["code"]).upper(), frozenset(str(w).upper() for w in c["words"]),
                        frozenset(str(w).upper() for w in c.get("unless") or ()),
                        str(c.get("reason") or "")))
    return DispatchTerms(
        phrases=_groups(data, "phrases", path, sources),
        abbreviations=_groups(data, "abbreviations", path, sources),
        codes=_groups(data, "codes", path, sources),
        cues=tuple(cues), sources=sources)


def load_terms(path: Path | None = None) -> DispatchTerms:
    return _load(Path(path) if path else reference_dir() / "crosswalks" / "dispatch_terms.yaml")
