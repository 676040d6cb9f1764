"""divert replay: produce a city's history file to cad.raw.<city> in event-time order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import click

from divert.exceptions import ConfigError
from divert.settings import services


def _speed(value: str) -> float | None:
    if value == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        raise click.BadParameter("a number of times real time (e.g. 60) or 'max'") from None
    if speed <= 0:
        raise click.BadParameter("must be positive")
    return speed


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{value!r} is not an ISO date or time (e.g. 2024-01-01 or 2024-01-01T06:00)") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@click.command("replay")
@click.option("--city", required=True, help="City whose mapping reads the file (reference/cities/<city>.yaml).")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV or CSV.gz export [default: the city's configured history files].")
@click.option("--speed", default="max", show_default=True, help="N× real time, or 'max'.")
@click.option("--from", "start", help="First event time to send (ISO 8601; UTC unless an offset is given).")
@click.option("--to", "end", help="Send events before this time (ISO 8601).")
@click.option("--restart", is_flag=True,
              help="Send every row, even those whose incident the database already holds.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(city, input_path, speed, start, end, restart, quiet) -> None:
    """Send the rows of the file to cad.raw.<city> in event-time order.

    Resumable: rows whose incident the database already holds (stored as a call or a dead
    letter) are skipped, so a stopped replay, or one after the embedded broker restarted and
    forgot its records, sends only what is missing.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from consumers.db.connection import query
    from consumers.db.sources.replay import stored_keys
    from divert.adapters import load_adapter
    from streams import replay
    from streams.topics import Topics, ensure_topics

    speed_x, start_t, end_t = _speed(speed), _time(start), _time(end)
    if start_t and end_t and start_t >= end_t:
        raise ConfigError(f"--from {start} is not before --to {end}")
    adapter = load_adapter(city)
    the_plan = replay.plan(adapter, input_path, start_t, end_t)  # the input's faults first, before any service
    svc = services()
    items = the_plan.items
    if not restart:
        items = replay.without_stored(items, query(stored_keys, adapter.agency, url=svc.database_url))
    topics = Topics.from_env()
    topic = topics.raw(city)
    asyncio.run(ensure_topics(svc.kafka_bootstrap, topics.all([city]), topics.partitions))
    if the_plan.unreadable_time_skipped:
        click.echo(f"note: {the_plan.unreadable_time_skipped} rows have an unreadable time and are outside "
                   "any --from/--to window; replay without --from/--to to dead-letter them", err=True)
    if skipped := len(the_plan.items) - len(items):
        click.echo(f"resuming: {skipped:,} of {len(the_plan.items):,} rows are already stored "
                   "(--restart sends them again)", err=True)
    with Progress(TextColumn(f"replay {city} → {topic}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), disable=quiet) as progress:
        task = progress.add_task("replay", total=len(items))
        sent = asyncio.run(replay.produce(
            items, bootstrap=svc.kafka_bootstrap, topic=topic, speed=speed_x,
            on_progress=lambda n: progress.advance(task, n)))
    click.echo(f"replayed {sent:,} rows to {topic}; {len(the_plan.items):,} rows in the input")
