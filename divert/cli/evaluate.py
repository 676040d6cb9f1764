"""``divert evaluate``: what changed after a program started, as an HTML report."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from divert.evaluation.outcomes import OUTCOMES


def _day(option: str, text: str | None):
    if not text:
        return None
    import pandas as pd

    from divert.exceptions import ConfigError

    try:
        return pd.Timestamp(text).normalize()
    except ValueError:
        raise ConfigError(f"{option} {text!r}: expected a date like 2024-06-01") from None


@click.command("evaluate")
@click.option("--program", "program_name", required=True, help="a program recorded with `divert program add`")
@click.option("--outcome", type=click.Choice(sorted(OUTCOMES)), default="police_calls_eligible", show_default=True,
              help="police_calls_eligible: diversion-eligible calls still handled by police per day; "
                   "calls_by_route: community calls of the program's routes per day; calls; officer_initiated; "
                   "response_p90: 90th percentile response minutes")
@click.option("--method", type=click.Choice(["auto", "sc", "did", "its", "wdd"]), default="auto", show_default=True,
              help="auto: every method, led by the one whose placebo false-positive rate on this city's data is "
                   "closest to 5%; sc: synthetic control; did: difference-in-differences; its: interrupted time "
                   "series; wdd: weighted displacement difference. Every interval comes from randomisation over "
                   "the city's untreated areas and dates")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="write the HTML report here")
@click.option("--placebo-runs", default=20, show_default=True, help="fake start dates tried before the real one")
@click.option("--displacement", help="wdd: comma-separated areas next to the program's where calls may move")
@click.option("--since", help="use only days from this date (YYYY-MM-DD), e.g. after a re-districting")
@click.option("--end", help="use only days before this date (YYYY-MM-DD), e.g. before a re-districting")
@click.option("--intended-break", "intended", multiple=True,
              help="a boundary change (YYYY-MM-DD) that is the program itself: report the effect across it")
@click.option("--store/--no-store", default=True, show_default=True,
              help="save the result for the program dashboard")
def command(program_name, outcome, method, output, placebo_runs, displacement, since, end, intended, store) -> None:
    """Estimate the program's effect on an outcome with a 95% interval calibrated on the city's own
    data, the minimum detectable effect, a placebo check and a boundary-change check.

    Rates are per day with data: cities that publish only some days of each month are
    compared on those days, never on monthly totals.
    """
    since_t, end_t = _day("--since", since), _day("--end", end)
    intended_t = [_day("--intended-break", d) for d in intended]
    result, text = asyncio.run(_evaluate(program_name, outcome, method, placebo_runs,
                                         [a.strip() for a in (displacement or "").split(",") if a.strip()],
                                         since_t, end_t, intended_t, store))
    from divert.evaluation.report import render

    click.echo("\n\n".join(text))
    if output:
        output.write_text(render(result), encoding="utf-8")
        click.echo(f"\nreport: {output}")


async def _evaluate(name, outcome, method, placebo_runs, displacement, since, end, intended, store):
    from consumers.db.connection import connect
    from consumers.db.sources.evaluation import evaluate_program, load_program, store_evaluation
    from divert.adapters import load_adapter
    from divert.evaluation.report import summary

    async with connect() as conn:
        timezone = load_adapter((await load_program(conn, name)).agency).mapping.timezone
        result = await evaluate_program(conn, name, outcome, timezone, method=method, placebo_runs=placebo_runs,
                                        displacement=displacement, since=since, end=end, intended=intended)
        text = summary(result)
        if store and not result.comparison.withheld:
            await store_evaluation(conn, result, " ".join(text), timezone)
        elif store:
            text.append("Not stored for the program dashboard: the effect is withheld.")
        return result, text
