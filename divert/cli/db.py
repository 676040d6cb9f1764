"""divert db migrate: bring the database schema up to date (versioned, idempotent)."""

from __future__ import annotations

import asyncio

import click

from divert.settings import services


@click.group("db")
def command() -> None:
    """Database schema management."""


@command.command()
def migrate() -> None:
    """Apply the migrations not yet applied; on TimescaleDB also hypertables and policies."""
    from consumers.db.migrate import migrate as run

    svc = services()
    applied = asyncio.run(run(svc.database_url))
    click.echo(f"applied {', '.join(applied)}" if applied else "database schema is up to date")
