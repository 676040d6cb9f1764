"""divert stack up | down | status: the embedded broker and database on loopback."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import click

from divert import stack
from divert.exceptions import StackError

folder_option = click.option(
    "--folder", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="State folder for the stack's data, logs and pids "
         "[default: $DIVERT_STACK_DIR or the user data dir].")


def _external() -> tuple[str, str] | None:
    bootstrap, database = os.environ.get("DIVERT_KAFKA_BOOTSTRAP"), os.environ.get("DIVERT_DATABASE_URL")
    return (bootstrap, database) if bootstrap and database else None


@click.group("stack")
def command() -> None:
    """Start, stop and check the embedded Kafka-API broker (tansu) and PostgreSQL."""


@command.command()
@folder_option
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for both to answer.")
def up(folder: Path | None, timeout: float) -> None:
    """Start both services on 127.0.0.1, wait until they answer, print their URLs."""
    if ext := _external():
        ok = asyncio.run(stack.broker_answers(ext[0])), asyncio.run(stack.database_answers(ext[1]))
        click.echo(f"using external services (DIVERT_KAFKA_BOOTSTRAP, DIVERT_DATABASE_URL); nothing started\n"
                   f"  broker    kafka://{ext[0]}  {'answers' if ok[0] else 'DOES NOT ANSWER'}\n"
                   f"  database  {ext[1]}  {'answers' if ok[1] else 'DOES NOT ANSWER'}")
        if not all(ok):
            raise StackError("an external service does not answer")
        return
    started = time.monotonic()
    s = asyncio.run(stack.up(folder, timeout=timeout))
    click.echo(f"stack ready in {time.monotonic() - started:.1f} s (folder {s.folder})\n"
               f"  broker    {s.broker_url}  (pid {s.broker_pid}; memory only: a restart loses topics)\n"
               f"  database  {s.database_url}  (pid {s.database_pid})\n"
               f"next: divert db migrate")


@command.command()
@folder_option
def down(folder: Path | None) -> None:
    """Stop exactly the processes `up` started (by pid)."""
    stopped = asyncio.run(stack.down(folder))
    click.echo("stopped " + ", ".join(stopped) if stopped else "nothing was running")


@command.command()
@folder_option
def status(folder: Path | None) -> None:
    """Report each service's pid, whether it runs and whether it answers; exit 1 if unhealthy."""
    health = asyncio.run(stack.status(folder))
    if not health:
        raise StackError(f"no stack recorded in {folder or stack.default_folder()}: run `divert stack up`")
    for name, h in health.items():
        state = "healthy" if h["running"] and h["answers"] else "running, not answering" if h["running"] else "stopped"
        click.echo(f"{name:9} {state:24} pid {h['pid']:<8} {h['url']}")
    if not all(h["running"] and h["answers"] for h in health.values()):
        raise SystemExit(1)
