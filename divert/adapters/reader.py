"""Reading a city's CSV (or CSV.gz) files as rows of ``{column name: str}``."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

from divert.exceptions import ConfigError


def resolve_history(patterns: Iterable[str], base: Path, origin: str) -> list[Path]:
    """The files named by ``history`` (paths or globs relative to ``base``), in the order given."""
    paths: list[Path] = []
    for pattern in patterns:
        found = sorted(base.glob(pattern)) if any(c in pattern for c in "*?[") else [base / pattern]
        found = [p for p in found if p.is_file()]
        if not found:
            raise ConfigError(f"{origin}: key 'history': no file matches {pattern!r} under {base}")
        paths.extend(found)
    return paths


def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    # utf-8-sig: one Seattle export starts with a byte-order mark that would otherwise
    # become part of its first column's name
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    """Every row of ``path`` as a dict keyed by the header's column names.

    A short row is padded with "" (so a missing value is reported by the adapter as
    missing, not lost); a long row keeps its surplus values under ``_extra_<n>`` keys,
    which adapters ignore. Blank lines are not records and are skipped.
    """
    try:
        handle = _open_text(path)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        width = len(header)
        for row in reader:
            if len(row) == width:
                yield dict(zip(header, row, strict=True))
            elif row:
                record = dict(zip(header, row + [""] * (width - len(row)), strict=False))
                for i, extra in enumerate(row[width:], 1):
                    record[f"_extra_{i}"] = extra
                yield record
