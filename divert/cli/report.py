"""``divert report``: one self-contained HTML page a city council can read."""

from __future__ import annotations

from pathlib import Path

import click

from divert.exceptions import ConfigError


@click.command("report")
@click.option("--city", required=True, help="the agency (city slug)")
@click.option("--program", "program_name", help="a program (`divert program add`) to evaluate in the report")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="the HTML file [default: <divert's data folder>/reports/<city>-council-report.html, "
                   "e.g. ~/.local/share/divert/reports/ on Linux; the path is printed]")
@click.option("--from", "start", help="start (ISO date/time, city local time) [default: the first stored call]")
@click.option("--to", "end", help="end, exclusive [default: the last stored call]")
@click.option("--layer", help="area layer of the burden map [default: beat, else district, if the city has it]")
@click.option("--teams", default=2, show_default=True, help="proposed team size: teams on duty at every hour")
@click.option("--method", type=click.Choice(["auto", "sc", "did", "its", "wdd"]), default="auto", show_default=True,
              help="evaluation method with --program (auto: every method, led by the best calibrated)")
@click.option("--hours", multiple=True, help="with --program: its hours for the funnel, e.g. 'mon-sun 07:00-23:00' "
                                             "(repeatable) [default: the policy's for its route]")
def command(city, program_name, output, start, end, layer, teams, method, hours) -> None:
    """Demand by route and source, eligible shares at both stages, police hours and cost, the
    burden map (with survey layers where a survey exists), what a team of the proposed size would
    absorb, and the program's evaluation — every number with its source and policy version."""
    from consumers.db.connection import query
    from consumers.db.sources.report import burden_layer, gather
    from divert.costs.model import load_model
    from divert.periods import city_timezone, local_span
    from divert.report.council import render

    if teams < 1:
        raise ConfigError("--teams must be at least 1")
    if hours and not program_name:
        raise ConfigError("--hours shapes a program's funnel: name the program with --program")
    from divert.policy import parse_hours

    week = parse_hours(list(hours)) if hours else None
    tz = city_timezone(city)
    model = load_model(city)
    start_t, end_t = local_span(start, end, tz)

    async def read(conn):
        return await gather(conn, city, start=start_t, end=end_t, model=model, timezone=tz,
                            layer=layer or await burden_layer(conn, city), teams=teams, program=program_name,
                            method=method, hours=week)

    if output is None:
        output = default_folder() / f"{city}-council-report.html"
        output.parent.mkdir(parents=True, exist_ok=True)
    writable(output)
    data = query(read)
    try:
        output.write_text(render(data), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {output}: {exc.strerror or exc}") from None
    click.echo(f"report: {output} ({data.costs.calls:,} calls, policy {', '.join(data.policy_versions)}, "
               f"cost model {model.version})")


def default_folder() -> Path:
    import platformdirs

    return platformdirs.user_data_path("divert") / "reports"


def writable(output: Path) -> None:
    """Refuse an output whose folder is missing or read-only before any work is done."""
    import os

    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"cannot write the report to {output}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (output.exists() and not os.access(output, os.W_OK)):
        raise ConfigError(f"cannot write the report to {output}: permission denied")
