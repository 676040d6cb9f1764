"""``divert crosswalk``: suggest APCO codes for a new city's call types; audit a crosswalk."""

from __future__ import annotations

import csv
from pathlib import Path

import click
import pandas as pd

from divert.adapters.reader import reading
from divert.crosswalk import known_cities, load_apco_codes, load_crosswalk, normalize_type
from divert.exceptions import ConfigError
from divert.paths import shared_data_dir
from divert.policy import load_policy
from divert.suggest import CIVILIAN_MIN_CONFIDENCE, Suggester
from divert.suggest import evaluate as loco

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
        with reading(p, formats=(ValueError,), what="CSV file"):
            head = pd.read_csv(p, nrows=0).columns
        rename = {c: c.replace(".", " ") for c in head}
        wanted = [c for c in head if rename[c] in columns + [_ID_COLUMNS.get(city)]]
        if not any(rename[c] in columns for c in wanted):
            continue
        with reading(p, formats=(ValueError,), what="CSV file"):
            frames.append(pd.read_csv(p, usecols=wanted, dtype=str).rename(columns=rename))
    if not frames:
        raise ConfigError(f"no file for {city!r} has a call-type column ({', '.join(columns)})")
    df = pd.concat(frames, ignore_index=True)
    if city in _ID_COLUMNS:
        df = df.drop_duplicates(_ID_COLUMNS[city])
    values = pd.concat([df[c] for c in columns if c in df], ignore_index=True).dropna()
    # a city's hundreds of thousands of rows hold a few hundred types: normalize each type once
    return values.map({t: normalize_type(t) for t in values.unique()}).value_counts()


def read_types(path: Path) -> pd.Series:
    """A ``call_type,calls`` CSV as a Series of calls by normalized type."""
    with reading(path, formats=(ValueError,), what="CSV file"):
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


def build_suggester(crosswalks, published, policy, review_below: float = 0.6) -> Suggester:
    return Suggester(crosswalks, load_apco_codes(), policy.route_for, review_below=review_below,
                     published=published)


def review_order(rows) -> list:
    """Uncertain types first, by the volume they carry; then the rest by volume."""
    return sorted(rows, key=lambda r: (not r.needs_review, -r.calls, r.call_type))


@command.command()
@click.option("--input", "input_path", type=click.Path(exists=True, path_type=Path), required=True,
              help="CSV with columns call_type,calls")
@click.option("--output", "output_path", type=click.Path(path_type=Path), required=True)
@click.option("--review-below", default=0.6, show_default=True,
              help="confidence under which a row is marked needs_review")
def suggest(input_path: Path, output_path: Path, review_below: float) -> None:
    """Propose an APCO code, a route and a confidence for each call type, with the top three
    candidates and their reasons; rows needing review come first, by the volume they carry.
    No suggestion under confidence 0.5 (CIVILIAN_MIN_CONFIDENCE) gets a civilian route."""
    types = read_types(input_path)
    policy = load_policy()
    sug = build_suggester([load_crosswalk(c) for c in known_cities()],
                          loco.load_published_vocabularies(), policy, review_below)
    rows = review_order(sug.suggest([(t, int(n)) for t, n in types.items()]))
    with open(output_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["call_type", "calls", "apco_code", "route", "confidence", "needs_review",
                    "basis", "candidate_2", "candidate_2_score", "candidate_2_reason",
                    "candidate_3", "candidate_3_score", "candidate_3_reason", "policy_version"])
        for r in rows:
            alts = []
            for c in list(r.candidates[1:3]) + [None] * (2 - len(r.candidates[1:3])):
                alts += [c.code, f"{c.score:.3f}", c.reason] if c else ["", "", ""]
            w.writerow([r.call_type, r.calls, r.apco_code or "", r.route, f"{r.confidence:.3f}",
                        str(r.needs_review).lower(), r.basis, *alts, policy.version])
    review = [r for r in rows if r.needs_review]
    msg = f"{len(rows)} types → {output_path} ({len(review)} need review"
    uncertain = sum(r.calls for r in review)
    if review and uncertain:
        fifth = review[:max(1, len(review) // 5)]
        msg += (f"; the first {len(fifth)} of them carry "
                f"{sum(r.calls for r in fifth) / uncertain:.0%} of the uncertain volume")
    click.echo(msg + ")")


@command.command()
@click.option("--mangle", "mangle_seed", type=int, default=None,
              help="also score strings damaged as an unseen CAD would (truncated, abbreviated), with this seed")
def evaluate(mangle_seed: int | None) -> None:
    """Leave-one-city-out over every labelled vocabulary: each city held out in turn, the
    suggester built from the others, scored on the held-out labels weighted by call volume."""
    import random

    policy = load_policy()
    vocabularies = []
    for city in known_cities():
        try:
            volumes = type_volumes(city).to_dict() if city in CALL_TYPE_COLUMNS else None
        except (ConfigError, OSError):
            volumes = None  # no call data: equal weights
        vocabularies.append(loco.crosswalk_vocabulary(load_crosswalk(city), volumes))
    vocabularies += loco.load_published_vocabularies()

    def build(training):
        return build_suggester([load_crosswalk(v.city) for v in training if v.source == "crosswalk"],
                               [v for v in training if v.source == "published"], policy)

    click.echo(f"leave-one-city-out, policy {policy.version}; coverage = volume with confidence "
               f">= {loco.COVERAGE_AT}; no civilian route under confidence {CIVILIAN_MIN_CONFIDENCE}")
    click.echo(loco.format_table(loco.leave_one_city_out(vocabularies, build, policy.route_for)))
    if mangle_seed is not None:
        rng = random.Random(mangle_seed)
        abbrev = {}
        from divert.suggest.terms import load_terms
        for short, full in load_terms().abbreviations.items():
            if " " not in full and short != full:
                abbrev.setdefault(full, short)
        click.echo(f"\nthe same, held-out strings mangled (seed {mangle_seed}):")
        click.echo(loco.format_table(loco.leave_one_city_out(
            vocabularies, build, policy.route_for, transform=lambda t: loco.mangle(t, rng, abbrev))))


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
