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
@click.option("--metrics-host", default=lambda: os.environ.get("DIVERT_METRICS_HOST") or "127.0.0.1",
              show_default="$DIVERT_METRICS_HOST or 127.0.0.1",
              help="Address the /metrics endpoint binds to; 0.0.0.0 serves every interface (a container "
                   "that Prometheus scrapes from another).")
@click.option("--loglevel", default="INFO", show_default=True)
@click.option("--no-store", is_flag=True, help="Do not write to the database (stream only).")
def command(cities: tuple[str, ...], app_id: str, metrics_port: int, metrics_host: str, loglevel: str,
            no_store: bool) -> None:
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
        start_http_server(metrics_port, addr=metrics_host, registry=metrics.registry)
    app = create_app(WorkerConfig(svc.kafka_bootstrap, cities, topics, None if no_store else svc.database_url,
                                    app_id=app_id), metrics)
    click.echo(f"worker {app_id}: cities {', '.join(cities)}; broker {svc.kafka_bootstrap}; "
               + (f"metrics http://{_url_host(metrics_host)}:{metrics_port}/metrics" if metrics_port
                  else "no metrics endpoint"), err=True)
    logging.basicConfig(level=loglevel)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


def _url_host(host: str) -> str:
    """How a client reaches the endpoint: a wildcard bind is reached on loopback."""
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
