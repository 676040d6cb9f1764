"""divert worker: run the stream processors (normalize, classify) until stopped."""

from __future__ import annotations

import asyncio
import logging
import os

import click

from divert.settings import services


@click.command("worker")
@click.option("--city", "cities", multiple=True,
              help="City to ingest from cad.raw.<city> (repeat; default: every configured city).")
@click.option("--app-id", default="divert", show_default=True,
              help="Consumer group; workers with the same id share the partitions.")
@click.option("--metrics-port", type=int, default=lambda: int(os.environ.get("DIVERT_METRICS_PORT", "9464")),
              show_default="$DIVERT_METRICS_PORT or 9464", help="Port of the Prometheus /metrics endpoint (0: none).")
@click.option("--loglevel", default="INFO", show_default=True)
@click.option("--no-store", is_flag=True, help="Do not write to the database (stream only).")
def command(cities: tuple[str, ...], app_id: str, metrics_port: int, loglevel: str, no_store: bool) -> None:
    """Consume cad.raw.<city>, normalize and classify every record, store the results in the
    database; dead-letter what fails. Applies pending database migrations first."""
    import faust
    from prometheus_client import start_http_server

    from consumers.db.migrate import migrate
    from divert.adapters import available_cities
    from divert.telemetry import WorkerMetrics
    from streams.app import WorkerConfig, create_app
    from streams.topics import Topics, ensure_topics

    svc = services()
    cities = cities or tuple(available_cities())
    if not no_store:
        asyncio.run(migrate(svc.database_url))
    topics = Topics.from_env()
    asyncio.run(ensure_topics(svc.kafka_bootstrap, topics.all(cities), topics.partitions))
    metrics = WorkerMetrics()
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1" if not svc.external else "0.0.0.0",
                          registry=metrics.registry)
    app = create_app(WorkerConfig(svc.kafka_bootstrap, cities, topics, None if no_store else svc.database_url,
                                    app_id=app_id), metrics)
    click.echo(f"worker {app_id}: cities {', '.join(cities)}; broker {svc.kafka_bootstrap}; "
               f"metrics http://127.0.0.1:{metrics_port}/metrics", err=True)
    logging.basicConfig(level=loglevel)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
