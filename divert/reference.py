"""Reference files, read one way: ``reference/<kind>/<slug>.yaml`` → YAML → a typed record.

Every kind (city mappings, crime mappings, surveys, area layers, events, costs) is found, listed
and parsed here, so a missing file, a bad slug, broken YAML or a wrong key give the same one-line
:class:`~divert.exceptions.ConfigError` naming the file (and the key) wherever they happen.

msgspec checks the shape (types, required and unknown keys); its message is rewritten to name the
key as every hand-written check does (``<file>: key 'a.b[0]': …``), the value included:

    >>> convert({"beat": {"file": "b.shp", "key": 7}}, dict[str, dict[str, str]], "f.yaml")
    Traceback (most recent call last):
    ...
    divert.exceptions.ConfigError: f.yaml: key 'beat.key': expected a string, got 7
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
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


def path_of(kind: str, slug: str, *, what: str, known: Iterable[str] | None = None) -> Path:
    """``reference/<kind>/<slug>.yaml``; ConfigError for a slug that is not a plain name or a file
    that does not exist (listing ``known``, by default every file of the kind)."""
    if not slug or "/" in slug or "\\" in slug or slug.startswith("."):
        raise ConfigError(f"not a {what} name: {slug!r}")
    path = folder(kind) / f"{slug}.yaml"
    if not path.is_file():
        names = available(kind) if known is None else sorted(known)
        raise ConfigError(f"{path}: no {what} for {slug!r} (known: {', '.join(names) or 'none'})")
    return path


def convert(data: Any, type_: type[T], origin: str) -> T:
    """``data`` as ``type_`` (strict: unknown keys and wrong types are errors naming the key)."""
    try:
        return msgspec.convert(data, type_)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(exc, data, type_, origin)) from exc


# msgspec's words for YAML's kinds of value
_KINDS = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
          "array": "a list", "object": "a mapping", "null": "null"}
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>.*)`)?$", re.DOTALL)
_STEP = re.compile(r"\.(?P<field>[^.\[]+)|\[(?P<index>\d+)\]|\[(?P<some_key>\.\.\.)\]")
_MISSING = object()


def _explain(exc: msgspec.ValidationError, data: Any, type_: Any, origin: str) -> str:
    """msgspec's message with the dotted key spelled out — a mapping's key included, where msgspec
    writes ``[...]`` — and the offending value instead of its type."""
    found = _AT.match(str(exc))
    message, steps = found["message"], _steps(found["path"] or "")
    steps = _name_keys(data, type_, steps)
    if m := re.fullmatch(r"Object missing required field `(.+)`", message):
        steps, message = [*steps, m[1]], "is required"
    elif m := re.fullmatch(r"Object contains unknown field `(.+)`", message):
        steps, message = [*steps, m[1]], "unknown key"
    elif m := re.fullmatch(r"Expected `([^`]+)`(.*?)(?:, got `[^`]+`)?", message, re.DOTALL):
        wanted = " or ".join(_KINDS.get(k, k) for k in m[1].split(" | "))
        value = _value_at(data, steps)
        message = f"expected {wanted}{m[2]}" + ("" if value is _MISSING else f", got {value!r}")
    key = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps).lstrip(".")
    return f"{origin}: key '{key}': {message}" if key else f"{origin}: {message}"


def _steps(path: str) -> list:
    """``.a[0][...]`` → ['a', 0, Ellipsis]."""
    return [m["field"] if m["field"] is not None else int(m["index"]) if m["index"] is not None else ...
            for m in _STEP.finditer(path)]


def _value_at(data: Any, steps: list) -> Any:
    for step in steps:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return data


def _replaced(data: Any, steps: list, value: Any) -> Any:
    """``data`` with the value at ``steps`` replaced (copying only the containers on the way)."""
    if not steps:
        return value
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[steps[0]] = _replaced(data[steps[0]], steps[1:], value)
    return copy


def _name_keys(data: Any, type_: Any, steps: list) -> list:
    """Resolve each ``[...]`` (a mapping's key msgspec does not name): the key whose entry alone
    fails at the same place is the one."""
    raw = list(steps)
    while ... in steps:
        at = steps.index(...)
        entries = _value_at(data, steps[:at])
        if not isinstance(entries, dict):
            break
        for key, value in entries.items():
            try:
                msgspec.convert(_replaced(data, steps[:at], {key: value}), type_)
            except msgspec.ValidationError as exc:
                if _steps(_AT.match(str(exc))["path"] or "")[:at + 1] == raw[:at + 1]:
                    steps = [*steps[:at], key, *steps[at + 1:]]
                    break
        else:
            break
    return steps


def load(kind: str, slug: str, parse: Callable[[Any, str], T], *, what: str,
         known: Iterable[str] | None = None) -> T:
    """Find, read and parse one reference file: ``parse(yaml_document, origin)``."""
    from divert.adapters.reader import read_yaml

    path = path_of(kind, slug, what=what, known=known)
    return parse(read_yaml(path), str(path))


def city_timezone(city: str) -> str | None:
    """The city's time zone, declared once: in its call mapping, else its crime mapping."""
    for kind in ("cities", "crime"):
        if city in available(kind):
            from divert.adapters.reader import read_yaml

            zone = (read_yaml(folder(kind) / f"{city}.yaml") or {}).get("timezone")
            return str(zone) if zone else None
    return None
