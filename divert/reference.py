"""Reference files, read one way: ``reference/<kind>/<slug>.yaml`` → YAML → a typed record.

Every kind (city mappings, crime mappings, surveys, area layers, events, costs) is found, listed
and parsed here, so a missing file, a bad slug, broken YAML or a wrong key give the same one-line
:class:`~divert.exceptions.ConfigError` naming the file (and the key) wherever they happen.

    >>> convert({"a": "x"}, dict[str, int], "f.yaml")
    Traceback (most recent call last):
    ...
    divert.exceptions.ConfigError: f.yaml: Expected `int`, got `str` - at `$[...]`
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from divert.exceptions import ConfigError
from divert.paths import reference_dir

T = TypeVar("T")


def folder(kind: str) -> Path:
    return reference_dir() / kind


def available(kind: str) -> list[str]:
    """The slugs with a file of this kind, sorted."""
    d = folder(kind)
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


def path_of(kind: str, slug: str, *, what: str) -> Path:
    """``reference/<kind>/<slug>.yaml``; ConfigError for a slug that is not a plain name or a file
    that does not exist (listing the ones that do)."""
    if not slug or "/" in slug or "\\" in slug or slug.startswith("."):
        raise ConfigError(f"not a {what} name: {slug!r}")
    path = folder(kind) / f"{slug}.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: no {what} {slug!r} (known: {', '.join(available(kind)) or 'none'})")
    return path


def convert(data: Any, type_: type[T], origin: str) -> T:
    """``data`` as ``type_`` (strict: unknown keys and wrong types are errors naming the key)."""
    try:
        return msgspec.convert(data, type_)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{origin}: {exc}") from exc


def load(kind: str, slug: str, parse: Callable[[Any, str], T], *, what: str) -> T:
    """Find, read and parse one reference file: ``parse(yaml_document, origin)``."""
    from divert.adapters.reader import read_yaml

    path = path_of(kind, slug, what=what)
    return parse(read_yaml(path), str(path))


def city_timezone(city: str) -> str | None:
    """The city's time zone, declared once: in its call mapping, else its crime mapping."""
    for kind in ("cities", "crime"):
        if city in available(kind):
            from divert.adapters.reader import read_yaml

            zone = (read_yaml(folder(kind) / f"{city}.yaml") or {}).get("timezone")
            return str(zone) if zone else None
    return None
