"""divert crime: reported crime into divert, streamed (replay → crime.reports) or loaded directly."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path

import click

from divert.exceptions import ConfigError
from divert.settings import services


@dataclass
class CrimeBatch:
    reports: list = field(default_factory=list)
    dead_letters: list = field(default_factory=list)
    rows: int = 0


def read_reports(city: str, input_path: Path | None, source_topic: str) -> tuple[object, CrimeBatch]:
    """Every row of the file through the city's crime adapter: a CrimeReport or a dead letter."""
    from divert.adapters.crime import load_crime_adapter
    from divert.deadletter import dead_letter
    from divert.exceptions import InvalidRecord

    adapter = load_crime_adapter(city)
    out = CrimeBatch()
    for raw in adapter.read_raw(input_path):
        out.rows += 1
        try:
            out.reports.append(adapter.normalize(raw))
        except InvalidRecord as err:
            out.dead_letters.append(dead_letter(json.dumps(raw), source_topic=source_topic, error=err,
                                                agency=adapter.agency, rule=adapter.privacy))
    return adapter, out


_input = click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                      help="CSV or CSV.gz export [default: the history files of reference/crime/<city>.yaml].")
_city = click.option("--city", required=True, help="City whose crime mapping reads the file (reference/crime/<city>.yaml).")


@click.group("crime")
def command() -> None:
    """Reported crime: the denominator of the enforcement–crime divergence (`divert burden`)."""


@command.command("replay")
@_city
@_input
def replay(city: str, input_path: Path | None) -> None:
    """Produce every row as a CrimeReport to crime.reports (key agency:report_id); rows that
    cannot be read go to the dead-letter topic with the reason. The worker stores them."""
    from schemas import encode
    from streams.outbox import produce_all
    from streams.topics import Topics, ensure_topics

    svc = services()
    topics = Topics.from_env()
    _, batch = read_reports(city, input_path, source_topic=f"file:{input_path or city}")
    asyncio.run(ensure_topics(svc.kafka_bootstrap, [topics.crime_reports, topics.deadletter], topics.partitions))
    batch.reports.sort(key=lambda r: r.occurred_at)
    sent = asyncio.run(produce_all(svc.kafka_bootstrap, topics.crime_reports,
                                       [(f"{r.agency}:{r.report_id}".encode(), encode(r)) for r in batch.reports]))
    dead = asyncio.run(produce_all(svc.kafka_bootstrap, topics.deadletter,
                                       [(None, encode(d)) for d in batch.dead_letters]))
    offences = sum(r.count for r in batch.reports)
    click.echo(f"sent {sent:,} crime reports ({offences:,} offences) to {topics.crime_reports}; "
               f"{dead:,} unreadable rows to {topics.deadletter}")


@command.command("load")
@_city
@_input
def load(city: str, input_path: Path | None) -> None:
    """Write the rows straight to the database's crime_reports (the batch path; idempotent).

    The same writers as `divert load`: a row the database refuses becomes a dead letter with
    the database's reason, and the rest are stored."""
    from consumers.db.history import run_load
    from divert.adapters.crime import available_crime_cities

    if city not in available_crime_cities():
        raise ConfigError(f"no crime mapping for {city!r}: reference/crime/{city}.yaml")
    svc = services()
    totals = asyncio.run(run_load(svc.database_url, city, crime_input=input_path, include=("crime",)))
    click.echo(f"stored {totals.crime_reports:,} crime reports for {city}; {totals.dead_letters:,} dead letters "
               f"({totals.refused:,} refused by the database) in {totals.seconds:.1f} s")
