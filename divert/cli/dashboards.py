"""``divert dashboards check|push``: validate the Grafana dashboards, publish them."""

from __future__ import annotations

import asyncio
import os

import click

from divert.exceptions import ConfigError, DivertError


class DashboardsInvalid(DivertError):
    """The dashboards have problems (listed)."""


@click.group("dashboards")
def command() -> None:
    """Grafana dashboards (dashboards/*.json): check them, push them to a Grafana."""


@command.command("check")
@click.option("--database/--no-database", default=None,
              help="also EXPLAIN every query against the migrated database (default: when "
                   "DIVERT_DATABASE_URL is set or an embedded stack is running)")
def check(database: bool | None) -> None:
    """Check structure, data source uids, variables (defined, injection-safe), that every query
    expands with Grafana's macros and parses, and that every number names its policy version."""
    from divert.dashboards.check import check_all
    from divert.dashboards.model import load_dashboards, load_datasources

    boards, sources = load_dashboards(), load_datasources()
    if not boards:
        raise ConfigError("no dashboards found under dashboards/")
    findings = check_all()
    dsn = _database_url(required=database is True) if database is not False else None
    if dsn:
        findings += asyncio.run(_explain(dsn, boards, sources))
    queries = sum(1 for b in boards for _ in b.queries())
    for finding in findings:
        click.echo(f"  ✗ {finding}", err=True)
    if findings:
        raise DashboardsInvalid(f"{len(findings)} problem(s) in {len(boards)} dashboards")
    where = "parsed and EXPLAINed against the database" if dsn else "parsed (no database: not EXPLAINed)"
    click.echo(f"{len(boards)} dashboards, {queries} queries: all {where}")


def _database_url(required: bool) -> str | None:
    from divert.settings import services

    if os.environ.get("DIVERT_DATABASE_URL"):
        return os.environ["DIVERT_DATABASE_URL"]
    try:
        return services().database_url
    except DivertError:
        if required:
            raise
        return None


async def _explain(dsn, boards, sources):
    from consumers.db.connection import connect
    from consumers.db.sources.dashboards import explain_all
    from consumers.exceptions import DatabaseUnavailable

    try:
        async with connect(dsn) as conn:
            return await explain_all(conn, boards, sources)
    except DatabaseUnavailable as exc:
        raise DashboardsInvalid(f"{exc} (needed to EXPLAIN the queries)") from exc


@command.command("push")
@click.option("--url", envvar="DIVERT_GRAFANA_URL", required=True, help="Grafana's address, e.g. http://localhost:3000")
@click.option("--token", envvar="DIVERT_GRAFANA_TOKEN", help="a service account token (Editor role)")
@click.option("--skip-check", is_flag=True, help="push even if `divert dashboards check` finds problems")
def push(url: str, token: str | None, skip_check: bool) -> None:
    """Publish every dashboard into Grafana's 'divert' folder (overwriting earlier versions)."""
    from consumers.grafana import publish
    from divert.dashboards.check import check_all
    from divert.dashboards.model import load_dashboards

    if not skip_check and (findings := check_all()):
        for finding in findings:
            click.echo(f"  ✗ {finding}", err=True)
        raise DashboardsInvalid(f"{len(findings)} problem(s): fix them or pass --skip-check")
    published, warnings = publish(load_dashboards(), url=url, token=token)
    for p in published:
        click.echo(f"{p.uid:24} {p.title}  →  {p.url}" + (f"  (version {p.version})" if p.version else ""))
    for w in warnings:
        click.secho(f"warning: {w}", fg="yellow", err=True)
