"""``divert evaluate``: what changed after a program started, as an HTML report."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from divert.evaluation.outcomes import OUTCOMES


@click.command("evaluate")
@click.option("--program", "program_name", required=True, help="a program recorded with `divert program add`")
@click.option("--outcome", type=click.Choice(sorted(OUTCOMES)), default="police_calls_eligible", show_default=True,
              help="police_calls_eligible: diversion-eligible calls still handled by police per day; "
                   "calls_by_route: community calls of the program's routes per day; calls; officer_initiated; "
                   "response_p90: 90th percentile response minutes")
@click.option("--method", type=click.Choice(["its", "did", "wdd"]), default="did", show_default=True,
              help="its: interrupted time series of the program's areas; did: difference-in-differences "
                   "against the untreated areas; wdd: weighted displacement difference")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="write the HTML report here")
@click.option("--placebo-runs", default=20, show_default=True, help="fake start dates tried before the real one")
@click.option("--displacement", help="wdd: comma-separated areas next to the program's where calls may move")
@click.option("--end", help="use only days before this date (YYYY-MM-DD), e.g. before a re-districting")
@click.option("--store/--no-store", default=True, show_default=True,
              help="save the result for the program dashboard")
def command(program_name, outcome, method, output, placebo_runs, displacement, end, store) -> None:
    """Estimate the program's effect on an outcome with a 95% interval and a placebo check.

    Rates are per day with data: cities that publish only some days of each month are
    compared on those days, never on monthly totals.
    """
    if end:
        import pandas as pd

        from divert.exceptions import ConfigError

        try:
            pd.Timestamp(end)
        except ValueError:
            raise ConfigError(f"--end {end!r}: expected a date like 2024-06-01") from None
    result, text = asyncio.run(_evaluate(program_name, outcome, method, placebo_runs,
                                         [a.strip() for a in (displacement or "").split(",") if a.strip()],
                                         end, store))
    from divert.evaluation.report import render

    click.echo("\n\n".join(text))
    if output:
        output.write_text(render(result), encoding="utf-8")
        click.echo(f"\nreport: {output}")


async def _evaluate(name, outcome, method, placebo_runs, displacement, end, store):
    import asyncpg

    from divert.adapters import load_adapter
    from divert.evaluation import evaluate
    from divert.evaluation.outcomes import describe, get
    from divert.evaluation.report import EvaluationResult, summary
    from divert.evaluation.source import load_panel, load_program, store_evaluation
    from divert.exceptions import DivertError
    from divert.settings import services

    try:
        conn = await asyncpg.connect(services().database_url, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DivertError(f"cannot connect to the database: {exc}") from exc
    try:
        program = await load_program(conn, name)
        timezone = load_adapter(program.agency).mapping.timezone
        import pandas as pd

        panel = await load_panel(conn, program, outcome, timezone, pd.Timestamp(end) if end else None)
        estimate, placebo = evaluate(panel, method, placebo_runs=placebo_runs, displacement=displacement)
        spec = get(outcome)
        notes = [f"{len(panel.days)} days with data between {panel.days.min():%Y-%m-%d} and "
                 f"{panel.days.max():%Y-%m-%d} (local days, {timezone}); days holding under a quarter of a "
                 "median day's calls are treated as partial and left out.",
                 f"Untreated areas compared: {', '.join(panel.control_areas) or 'none'}.", *panel.notes]
        result = EvaluationResult(program, outcome, describe(outcome, program.routes), spec.unit, estimate,
                                  placebo, panel.policy_versions, tuple(notes))
        text = summary(result)
        if store:
            await store_evaluation(conn, result, " ".join(text), timezone)
        return result, text
    finally:
        await conn.close()
