"""Read a program and its outcome panel from the database, store an evaluation back.

The functions take an open asyncpg connection from the caller (the CLI, the tests); nothing
here connects. Days are local days in the agency's time zone; observed days are those the
city published (:func:`divert.evaluation.panel.observed_days`).
"""

from __future__ import annotations

import pandas as pd

from consumers.db.sources.programs import program_record
from divert.evaluation import outcomes
from divert.evaluation.panel import DailyPanel, EvaluationError, observed_days
from divert.evaluation.report import EvaluationResult, ProgramInfo


async def load_program(conn, name: str) -> ProgramInfo:
    row = await program_record(conn, name, EvaluationError)
    from divert.adapters import load_adapter

    # the start as the agency's local day: what the days of the panel are
    timezone = load_adapter(row["agency"]).mapping.timezone
    start = pd.Timestamp(row["start"]).tz_convert(timezone).tz_localize(None).normalize()
    return ProgramInfo(row["name"], row["agency"], row["area_layer"], tuple(row["areas"]), tuple(row["routes"]),
                       start, row["description"])


async def load_panel(conn, program: ProgramInfo, outcome_name: str, timezone: str,
                     end: pd.Timestamp | None = None, since: pd.Timestamp | None = None) -> DailyPanel:
    """The outcome per area of the program's layer per observed local day (from ``since``,
    before ``end``); the city mapping's non-geographic areas are no places and left out."""
    outcome = outcomes.get(outcome_name)
    city_days = await conn.fetch(
        "select (received_at at time zone $2)::date as day, count(*) as calls from call_areas "
        "where agency = $1 and layer = 'city' group by 1", program.agency, timezone)
    if not city_days:
        raise EvaluationError(f"no stored calls for {program.agency}: replay its history first")
    days = observed_days(pd.Series({pd.Timestamp(r["day"]): r["calls"] for r in city_days}))
    if end is not None:
        days = days[days < pd.Timestamp(end)]
    if since is not None:
        days = days[days >= pd.Timestamp(since)]
    # the outcome's aggregate may use the program's routes ($routes): always bind them, as $4
    value_sql = outcome.sql_value.replace("$routes", "$4")
    rows = await conn.fetch(
        f"select (received_at at time zone $3)::date as day, area, {value_sql} as value "
        "from call_areas where agency = $1 and layer = $2 and $4::text[] is not null group by 1, 2",
        program.agency, program.layer, timezone, list(program.routes))
    if not rows:
        raise EvaluationError(f"no calls of {program.agency} carry the area layer {program.layer!r}")
    versions = [r["policy_version"] for r in await conn.fetch(
        "select distinct policy_version from call_areas where agency = $1 and layer = $2",
        program.agency, program.layer)]
    frame = pd.DataFrame([(pd.Timestamp(r["day"]), r["area"], r["value"]) for r in rows],
                         columns=["day", "area", "value"])
    frame = frame[frame["day"].isin(days)]
    treated_series = None
    if outcome.kind == "continuous":
        t_rows = await conn.fetch(
            f"select (received_at at time zone $3)::date as day, {value_sql} as value from call_areas "
            "where agency = $1 and layer = $2 and area = any($5::text[]) and $4::text[] is not null group by 1",
            program.agency, program.layer, timezone, list(program.routes), list(program.areas))
        treated_series = pd.Series({pd.Timestamp(r["day"]): r["value"] for r in t_rows}, dtype=float)
        treated_series = treated_series[treated_series.index.isin(days)].dropna()
        if treated_series.empty:
            raise EvaluationError(f"{outcome_name}: the city's data has no arrival times, so response "
                                  "times cannot be measured; choose a count outcome")
    return DailyPanel.build(frame, treated=program.areas, start=program.start, outcome=outcome_name,
                            kind=outcome.kind, days=days, treated_series=treated_series,
                            policy_versions=versions, non_geographic=_no_place(program))


def _no_place(program: ProgramInfo) -> frozenset[str]:
    from divert.adapters import load_adapter
    from divert.adapters.mapping import non_geographic

    return non_geographic(load_adapter(program.agency).mapping, program.layer)


async def load_area_calls(conn, program: ProgramInfo, timezone: str, days: pd.DatetimeIndex) -> pd.DataFrame:
    """Community calls per area of the program's layer per observed day (day, area, value), the
    places only: what the boundary-change test reads (:mod:`divert.evaluation.boundary`)."""
    rows = await conn.fetch(
        f"select (received_at at time zone $3)::date as day, area, count(*) filter (where {outcomes.COMMUNITY}) "
        "as value from call_areas where agency = $1 and layer = $2 group by 1, 2",
        program.agency, program.layer, timezone)
    frame = pd.DataFrame([(pd.Timestamp(r["day"]), r["area"], float(r["value"])) for r in rows],
                         columns=["day", "area", "value"])
    no_place = _no_place(program)
    return frame[frame["day"].isin(days) & ~frame["area"].isin(no_place)].reset_index(drop=True)


async def store_evaluation(conn, result: EvaluationResult, summary: str, timezone: str) -> int:
    e = result.estimate
    async with conn.transaction():
        evaluation_id = await conn.fetchval(
            "insert into program_evaluations (program, agency, outcome, method, effect, ci_low, ci_high, "
            "p_value, relative_effect, baseline, placebo_runs, placebo_false_positive_rate, pre_days, "
            "post_days, policy_version, summary) values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16) "
            "returning id",
            result.program.name, result.program.agency, result.outcome, e.method, e.effect, e.ci_low, e.ci_high,
            _finite(e.p_value), _finite(e.relative), e.baseline, len(result.placebo.runs),
            _finite(result.placebo.false_positive_rate), e.pre_days, e.post_days,
            ", ".join(result.policy_versions) or "unknown", summary)
        days = e.observed.dropna().index.union(e.counterfactual.dropna().index)
        await conn.executemany(
            "insert into program_evaluation_days (evaluation_id, day, observed, counterfactual) "
            "values ($1, $2, $3, $4)",
            [(evaluation_id, pd.Timestamp(d).tz_localize(timezone).to_pydatetime(),
              _finite(e.observed.get(d)), _finite(e.counterfactual.get(d))) for d in days])
    return evaluation_id


def _finite(x):
    if x is None:
        return None
    x = float(x)
    return x if x == x and abs(x) != float("inf") else None


async def load_other_layers(conn, program: ProgramInfo, outcome_name: str, timezone: str,
                            days: pd.DatetimeIndex, min_share: float = 0.02) -> tuple[pd.DataFrame, dict]:
    """The outcome per area of the city's other layers per observed day (area "layer:area"), and
    for each such area the areas of the program's layer holding at least ``min_share`` of its calls:
    synthetic control's further donors (:meth:`DailyPanel.with_other_layers`). Places only."""
    from divert.adapters import load_adapter
    from divert.adapters.mapping import non_geographic

    outcome = outcomes.get(outcome_name)
    if outcome.kind != "count":
        return pd.DataFrame(columns=["day", "area", "value"]), {}
    value_sql = outcome.sql_value.replace("$routes", "$4")
    rows = await conn.fetch(
        f"select (received_at at time zone $3)::date as day, layer, area, {value_sql} as value from call_areas "
        "where agency = $1 and layer <> $2 and layer <> 'city' and $4::text[] is not null group by 1, 2, 3",
        program.agency, program.layer, timezone, list(program.routes))
    lies = await conn.fetch(
        "select o.layer, o.area, p.area as program_area, count(*) as n from call_areas o "
        "join call_areas p on p.agency = o.agency and p.incident_id = o.incident_id "
        "and p.received_at = o.received_at and p.layer = $2 "
        "where o.agency = $1 and o.layer <> $2 and o.layer <> 'city' group by 1, 2, 3",
        program.agency, program.layer)
    mapping = load_adapter(program.agency).mapping
    no_place = {layer: non_geographic(mapping, layer) for layer in mapping.areas}
    frame = pd.DataFrame([(pd.Timestamp(r["day"]), f"{r['layer']}:{r['area']}", float(r["value"] or 0))
                          for r in rows if r["area"] not in no_place.get(r["layer"], ())],
                         columns=["day", "area", "value"])
    frame = frame[frame["day"].isin(days)]
    totals: dict[str, int] = {}
    for r in lies:
        key = f"{r['layer']}:{r['area']}"
        totals[key] = totals.get(key, 0) + r["n"]
    overlap: dict[str, set[str]] = {}
    for r in lies:
        key = f"{r['layer']}:{r['area']}"
        overlap.setdefault(key, set())
        if r["n"] >= min_share * totals[key]:
            overlap[key].add(r["program_area"])
    return frame, overlap


async def evaluate_program(conn, name: str, outcome: str, timezone: str, *, method: str = "auto",
                           placebo_runs: int = 20, displacement=(), since=None, end=None, intended=()):
    """The evaluation of a stored program, as `divert evaluate`, the council report and (through
    the stored result) the program dashboard show it: comparison areas without boundary steps,
    other layers as synthetic-control donors, every method calibrated, the lead chosen, an effect
    across a boundary change withheld."""
    from divert.evaluation.boundary import broken_areas, share_breaks
    from divert.evaluation.compare import DEFAULT_METHODS, compare
    from divert.evaluation.outcomes import describe, get
    from divert.evaluation.report import EvaluationResult

    program = await load_program(conn, name)
    panel = await load_panel(conn, program, outcome, timezone, end, since)
    calls = await load_area_calls(conn, program, timezone, panel.days)
    first, last = panel.days.min(), panel.days.max()
    # an untreated area whose share of the calls steps is no fair comparison either
    broken = {a: b for a, b in broken_areas(calls, first, last).items() if a not in panel.treated}
    panel = panel.without(broken, "its share of the calls steps inside these days: a boundary change")
    if method in ("auto", "sc"):  # synthetic control may also weigh the other layers' areas
        panel = panel.with_other_layers(*await load_other_layers(conn, program, outcome, timezone, panel.days))
    comparison = compare(panel, methods=DEFAULT_METHODS if method == "auto" else (method,),
                         placebo_runs=placebo_runs, displacement=displacement,
                         breaks=share_breaks(calls, panel.treated), intended=intended)
    notes = [f"{len(panel.days)} days with data between {first:%Y-%m-%d} and {last:%Y-%m-%d} (local days, "
             f"{timezone}); days holding under a quarter of a median day's calls are treated as partial and "
             "left out.",
             f"Untreated areas compared: {', '.join(panel.control_areas) or 'none'}.", *panel.notes]
    return EvaluationResult(program, outcome, describe(outcome, program.routes), get(outcome).unit,
                            comparison.estimate, comparison.placebo, panel.policy_versions, tuple(notes),
                            comparison=comparison)
