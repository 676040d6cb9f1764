"""divert load: a city's history files straight into the database, without a broker."""

from __future__ import annotations

import asyncio

import click

from divert.settings import services


class _RichProgress:
    def __init__(self, progress, label: str):
        self.progress, self.label, self.task = progress, label, None

    def start(self, total: int) -> None:
        self.task = self.progress.add_task(self.label, total=total or None)

    def advance(self, n: int) -> None:
        self.progress.advance(self.task, n)


@click.command("load")
@click.option("--city", required=True, help="City whose configured history is loaded: calls and officer activity "
              "(reference/cities/<city>.yaml), crime reports (reference/crime/<city>.yaml) and surveys "
              "(reference/surveys/*.yaml naming the city).")
@click.option("--from", "start", help="First event time to load (ISO date/time; city local time unless an offset is given).")
@click.option("--to", "end", help="Load events before this time.")
@click.option("--only", type=click.Choice(["calls", "crime", "surveys"]), multiple=True,
              help="Load only these sources (repeatable) [default: all the city has].")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(1, 100_000),
              help="Records written per statement.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(city, start, end, only, batch_size, quiet) -> None:
    """Load a city's history into the database directly, in batches, through the same adapters,
    classification and writers as the live path: the stored rows and every metric window are the
    ones a replay through the worker gives. Loading twice changes nothing. Rows that cannot be
    read are stored as dead letters (source file:<path>) with the reason."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from consumers.db.history import run_load
    from divert.periods import city_timezone, local_span

    start_t, end_t = local_span(start, end, city_timezone(city) if not _survey_only(city) else "UTC")
    include = tuple(only) or ("calls", "crime", "surveys")
    with Progress(TextColumn(f"load {city}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  disable=quiet) as progress:
        totals = asyncio.run(run_load(services().database_url, city, start=start_t, end=end_t,
                                      batch_size=batch_size, include=include,
                                      progress=_RichProgress(progress, f"load {city}")))
    rate = totals.rows / totals.seconds if totals.seconds else 0.0
    parts = []
    if totals.calls or totals.activities:
        parts.append(f"{totals.calls:,} calls, {totals.activities:,} officer-activity records")
    if totals.crime_reports:
        parts.append(f"{totals.crime_reports:,} crime reports")
    if totals.surveys:
        parts.append(f"{totals.survey_measures:,} survey measures ({', '.join(totals.surveys)})")
    click.echo(f"loaded {city}: {totals.rows:,} rows in {totals.seconds:.1f} s ({rate:,.0f} rows/s): "
               + ("; ".join(parts) or "nothing") +
               f"; {totals.dead_letters:,} dead letters ({totals.refused:,} refused by the database)")
    if totals.skipped_unreadable_time:
        click.echo(f"note: {totals.skipped_unreadable_time:,} rows have an unreadable time and are outside any "
                   "--from/--to window; load without --from/--to to dead-letter them", err=True)


def _survey_only(city: str) -> bool:
    from divert.adapters import available_cities
    from divert.adapters.crime import available_crime_cities

    return city not in available_cities() and city not in available_crime_cities()
