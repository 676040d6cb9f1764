"""``divert crosswalk``: suggest APCO codes for a new city's call types; audit a crosswalk."""

from __future__ import annotations

import csv
from pathlib import Path

import click
import pandas as pd

from divert.crosswalk import Suggester, known_cities, load_apco_codes, load_crosswalk, normalize_type
from divert.exceptions import ConfigError
from divert.paths import shared_data_dir
from divert.policy import load_policy

# Where each known city's raw files keep the call type (Seattle's filtered extracts use dots).
CALL_TYPE_COLUMNS = {
    "san_antonio": ["ProblemType"],
    "milwaukee": ["nature"],
    "seattle": ["Initial Call Type", "Final Call Type"],
}
_ID_COLUMNS = {"seattle": "CAD Event Number"}


def type_volumes(city: str, paths: list[Path] | None = None) -> pd.Series:
    """Calls per normalized call type in a city's raw files (every type column counted;
    Seattle events repeated across its extracts are counted once)."""
    columns = CALL_TYPE_COLUMNS.get(city)
    if columns is None:
        raise ConfigError(f"no call-type columns known for city {city!r}: pass --input TYPES.csv")
    paths = paths or sorted((shared_data_dir() / city).glob("*.csv.gz"))
    frames = []
    for p in paths:
        head = pd.read_csv(p, nrows=0).columns
        rename = {c: c.replace(".", " ") for c in head}
        wanted = [c for c in head if rename[c] in columns + [_ID_COLUMNS.get(city)]]
        if not any(rename[c] in columns for c in wanted):
            continue
        frames.append(pd.read_csv(p, usecols=wanted, dtype=str).rename(columns=rename))
    if not frames:
        raise ConfigError(f"no file for {city!r} has a call-type column ({', '.join(columns)})")
    df = pd.concat(frames, ignore_index=True)
    if city in _ID_COLUMNS:
        df = df.drop_duplicates(_ID_COLUMNS[city])
    values = pd.concat([df[c] for c in columns if c in df], ignore_index=True).dropna()
    return values.map(normalize_type).value_counts()


def read_types(path: Path) -> pd.Series:
    """A ``call_type,calls`` CSV as a Series of calls by normalized type."""
    df = pd.read_csv(path, dtype={"call_type": str})
    if "call_type" not in df:
        raise ConfigError(f"{path}: needs a 'call_type' column (and optionally 'calls')")
    calls = df["calls"] if "calls" in df else 1
    df = df.assign(calls=calls, call_type=df["call_type"].map(normalize_type))
    return df.groupby("call_type")["calls"].sum().sort_values(ascending=False)


def coverage(volumes: pd.Series, cw) -> tuple[float, pd.Series]:
    """Share of volume whose type the crosswalk maps, and the unmapped types by volume."""
    mapped = volumes.index.map(lambda t: t in cw.entries).to_numpy(bool)
    total = volumes.sum()
    return (float(volumes[mapped].sum() / total) if total else 1.0), volumes[~mapped]


@click.group("crosswalk")
def command() -> None:
    """City call types → APCO incident-type codes."""


@command.command()
@click.option("--input", "input_path", type=click.Path(exists=True, path_type=Path), required=True,
              help="CSV with columns call_type,calls")
@click.option("--output", "output_path", type=click.Path(path_type=Path), required=True)
@click.option("--review-below", default=0.6, show_default=True,
              help="confidence under which a row is marked needs_review")
def suggest(input_path: Path, output_path: Path, review_below: float) -> None:
    """Propose an APCO code, a route and a confidence for each call type."""
    types = read_types(input_path)
    policy = load_policy()
    sug = Suggester([load_crosswalk(c) for c in known_cities()], load_apco_codes(),
                    policy.route_for, review_below=review_below)
    rows = sug.suggest([(t, int(n)) for t, n in types.items()])
    with open(output_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["call_type", "calls", "apco_code", "route", "confidence", "needs_review",
                    "basis", "policy_version"])
        for r in rows:
            w.writerow([r.call_type, r.calls, r.apco_code or "", r.route, f"{r.confidence:.3f}",
                        str(r.needs_review).lower(), r.basis, policy.version])
    review = sum(r.needs_review for r in rows)
    click.echo(f"{len(rows)} types → {output_path} ({review} need review)")


@command.command()
@click.option("--city", required=True)
@click.option("--input", "input_path", type=click.Path(exists=True, path_type=Path),
              help="CSV with call_type,calls (default: the city's shared raw files)")
@click.option("--top", default=15, show_default=True, help="unmapped types to list")
def audit(city: str, input_path: Path | None, top: int) -> None:
    """Coverage by volume and the largest unmapped types."""
    cw = load_crosswalk(city)
    volumes = read_types(input_path) if input_path else type_volumes(city)
    share, unmapped = coverage(volumes, cw)
    click.echo(f"{city}: {len(cw)} crosswalk types; {len(volumes)} types seen, "
               f"{int(volumes.sum()):,} calls; mapped {share:.2%} of volume")
    low = [(t, n) for t, n in volumes.items() if t in cw.entries and cw.entries[t].confidence < 0.6]
    if low:
        click.echo(f"low confidence (<0.6): {sum(n for _, n in low) / volumes.sum():.2%} of volume")
    for t, n in unmapped.head(top).items():
        click.echo(f"  unmapped {int(n):>8,}  {t}")
    if share < 0.99:
        raise click.exceptions.Exit(1)
