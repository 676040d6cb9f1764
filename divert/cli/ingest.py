"""``divert ingest``: check a city's files against its adapter before streaming them.

``divert ingest audit --city san_antonio`` reads every row, normalizes it and accounts for
each one: canonical or dead-lettered (and why). Nothing is sent anywhere.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import click

from divert.adapters import available_cities, load_adapter
from divert.exceptions import ConfigError, InvalidRecord


@click.group("ingest")
def command() -> None:
    """Ingest city CAD records (normalize with the city's adapter)."""


@command.command("audit")
@click.option("--city", required=True, help="city slug (reference/cities/<city>.yaml)")
@click.option("--input", "input_path", type=click.Path(dir_okay=False, path_type=Path),
              help="a CSV(.gz) to read instead of the city's configured history files")
@click.option("--examples", default=1, show_default=True,
              help="example record ids to show per dead-letter reason")
def audit(city: str, input_path: Path | None, examples: int) -> None:
    """Count input rows, canonical events, officer activity and dead letters by reason."""
    if city not in available_cities():
        raise ConfigError(f"no mapping for city {city!r} (known: {', '.join(available_cities())})")
    if input_path is not None and not input_path.is_file():
        raise ConfigError(f"--input {input_path}: no such file")
    adapter = load_adapter(city)
    rows = canonical = officer = 0
    sources: Counter[str] = Counter()
    reasons: Counter[tuple[str | None, str]] = Counter()
    samples: dict[tuple[str | None, str], list[str]] = {}
    ids: set[str] = set()
    start = time.perf_counter()
    for raw in adapter.read_raw(input_path):
        rows += 1
        try:
            event, activity = adapter.normalize(raw)
        except InvalidRecord as err:
            key = (err.field, err.reason)
            reasons[key] += 1
            found = samples.setdefault(key, [])
            if len(found) < examples:
                found.append(f"{err.record_id or '(no id)'}: {err.detail or err}")
            continue
        canonical += 1
        officer += activity is not None
        sources[event.source] += 1
        ids.add(event.incident_id)
    elapsed = time.perf_counter() - start
    dead = sum(reasons.values())

    files = [str(input_path)] if input_path else [str(p) for p in adapter.history_files()]
    click.echo(f"city            {city} ({adapter.agency}, {adapter.mapping.timezone})")
    for f in files:
        click.echo(f"file            {f}")
    click.echo(f"input rows      {rows:>10,}")
    click.echo(f"canonical       {canonical:>10,}   ({len(ids):,} distinct incident ids)")
    click.echo(f"officer         {officer:>10,}   (also emitted as officer activity)")
    click.echo(f"dead-lettered   {dead:>10,}")
    click.echo("by source       " + ", ".join(f"{s} {n:,}" for s, n in sources.most_common()))
    for (field, reason), n in reasons.most_common():
        click.echo(f"  dead letter   {n:>10,}  field={field} reason={reason}")
        for sample in samples[(field, reason)]:
            click.echo(f"                e.g. {sample}")
    click.echo(f"time            {elapsed:.1f} s ({rows / elapsed if elapsed else 0:,.0f} rows/s)")
    status = "OK" if canonical + dead == rows else "MISMATCH"
    click.echo(f"accounted       {status}: canonical + dead-lettered = {canonical + dead:,} of {rows:,}")
    if status != "OK":
        raise click.ClickException("rows unaccounted for")
