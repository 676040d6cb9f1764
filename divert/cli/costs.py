"""``divert costs``: what the calls cost in police time, and what an alternative response would cost."""

from __future__ import annotations

import click

from divert.exceptions import ConfigError


@click.group("costs", invoke_without_command=True)
@click.option("--city", help="the agency (city slug) whose stored calls are priced")
@click.option("--from", "start", help="start (ISO date/time, city local time unless an offset is given) "
              "[default: the first stored call]")
@click.option("--to", "end", help="end, exclusive [default: just after the last stored call]")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False),
              help="a cost model YAML [default: reference/costs/<city>.yaml]")
@click.pass_context
def command(ctx, city, start, end, fmt, model_path) -> None:
    """Police unit-hours and dollars by route and call category — all calls, and the
    diversion-eligible ones at both stages — and what an alternative team would cost to take
    the eligible volume at its response-time target (Erlang C), with low / central / high ranges.

    On-scene time is measured (cleared − arrived × units) where the city records both times, else
    the model's assumed minutes per call category, marked ASSUMED. Every figure names its source.

    \b
    divert costs --city seattle
    divert costs --city san_antonio --from 2024-01-01 --to 2024-07-01 --format csv
    divert costs sync --city seattle      # load the model for the dashboards
    divert costs share --city "San Antonio"  # police share of the general fund, FY2018-2022
    """
    if ctx.invoked_subcommand is not None:
        return
    if not city:
        raise click.UsageError("--city is required (e.g. divert costs --city seattle)")
    from consumers.db.connection import query
    from consumers.db.sources.costs import build_report
    from divert.costs.model import load_model
    from divert.costs.table import render_csv, render_text
    from divert.periods import city_timezone, local_span

    tz = city_timezone(city)
    start_t, end_t = local_span(start, end, tz)
    model = load_model(city, model_path)
    report = query(build_report, city, start_t, end_t, model, tz)
    click.echo(render_csv(report) if fmt == "csv" else render_text(report), nl=fmt != "csv")


@command.command("sync")
@click.option("--city", required=True, help="the city whose model (reference/costs/<city>.yaml) is loaded")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False))
def sync(city, model_path) -> None:
    """Store the city's cost model in the database, so the dashboards show police hours and dollars."""
    from consumers.db.connection import query
    from consumers.db.sources.costs import sync_model
    from divert.costs.model import load_model

    model = load_model(city, model_path)
    n = query(sync_model, model)
    r = model.police_unit_hour.rate
    click.echo(f"{model.version}: police unit-hour ${r.low:,.2f} / ${r.central:,.2f} / ${r.high:,.2f} "
               f"(low / central / high), {n} assumed on-scene rows, {len(model.alternatives)} alternative(s) stored")


@command.command("share")
@click.option("--city", help="a city of the 467-city budget table (name or slug); all cities when omitted")
@click.option("--state", help="two-letter state code, when several states have a city of that name")
@click.option("--derive", is_flag=True, help="rebuild reference/costs/police_share_467_cities.csv from the shared data")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
def share(city, state, derive, fmt) -> None:
    """The police budget's share of the general fund, FY2018–2022 (467 US cities; definitions vary
    by city, e.g. pensions in or out)."""
    from divert.costs import share as s

    if derive:
        n = s.derive()
        click.echo(f"written: {s.derived_csv()} ({n} city-years)")
        return
    rows = s.lookup(city, state) if city else s.load()
    if not rows:
        raise ConfigError(f"{city!r} is not in the 467-city budget table (try the name as published, e.g. "
                          "'San Antonio')")
    if fmt == "csv":
        click.echo("state,city,fiscal_year,police_budget,general_fund,police_share")
        for r in rows:
            click.echo(f"{r.state},{r.city},{r.fiscal_year},{r.police_budget:.0f},{r.general_fund:.0f},{r.share:.4f}")
        return
    click.echo(f"{'state':<6}{'city':<24}{'FY':>5}{'police budget':>17}{'general fund':>17}{'police share':>14}")
    for r in rows:
        click.echo(f"{r.state:<6}{r.city[:23]:<24}{r.fiscal_year:>5}{r.police_budget:>17,.0f}"
                   f"{r.general_fund:>17,.0f}{r.share:>14.1%}")
    click.echo(f"source: {s.SOURCE}")
