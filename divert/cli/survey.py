"""divert survey: what residents say, by area — estimates with margins of error, or as published."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import click

from divert.exceptions import ConfigError


@click.group("survey")
def command() -> None:
    """Community surveys declared in reference/surveys/<name>.yaml (see `divert survey list`)."""


@command.command("list")
def list_surveys() -> None:
    """The shipped survey mappings: city, kind, items."""
    from divert.surveys.mapping import available_surveys, load_survey_mapping

    for name in available_surveys():
        _, m = load_survey_mapping(name)
        layers = ", ".join(m.layers()) or "city"
        click.echo(f"{name}: {m.title or name}\n  city {m.agency}; {m.kind}; layers {layers}; items "
                   + ", ".join(f"{k} ({v.measure or k})" for k, v in m.items.items()))


@command.command("estimate")
@click.option("--survey", "survey", help="A shipped survey (reference/surveys/<name>.yaml).")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A survey file (CSV or CSV.gz); needs --mapping.")
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The YAML mapping that says how to read --input (or a survey's mapping to use as is).")
@click.option("--item", required=True, help="Item id as the file writes it (e.g. Q2_2), or its measure (safety).")
@click.option("--by", "layer", default="city", show_default=True,
              help="Area layer (council_district, district, sector …) or 'city'.")
@click.option("--min-n", type=click.IntRange(1), help="Suppress estimates from fewer respondents "
              "[default: the mapping's min_n, 30].")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
def estimate(survey, input_path, mapping_path, item, layer, min_n, fmt) -> None:
    """For microdata: the weighted share agreeing per area, with its 95% margin of error, n and
    effective n (Kish design effect from the weights; simple random sampling without weights).
    Estimates from fewer than --min-n respondents are suppressed, with the reason. For published
    surveys: the figures as published, per area and period, with the authors' note on error."""
    import msgspec

    from divert.surveys.mapping import load_survey_mapping
    from divert.surveys.measures import microdata_measures, published_measures, survey_file

    if bool(survey) == bool(input_path or mapping_path) and not (survey is None and mapping_path):
        raise ConfigError("give --survey NAME, or --input FILE with --mapping YAML")
    if input_path and not mapping_path:
        raise ConfigError("--input needs --mapping YAML (how to read the file)")
    name, mapping = load_survey_mapping(mapping_path or survey)
    if min_n:
        mapping = msgspec.structs.replace(mapping, min_n=min_n)
    item_id = item if item in mapping.items else next(
        (k for k, v in mapping.items.items() if v.measure == item), None)
    if item_id is None:
        raise ConfigError(f"survey {name}: no item {item!r} (items: {', '.join(mapping.items)})")
    if layer not in mapping.layers():
        raise ConfigError(f"survey {name}: no layer {layer!r} (layers: {', '.join(mapping.layers())})")
    from divert.adapters.reader import read_csv

    rows = list(read_csv(survey_file(mapping, input_path)))
    if mapping.kind == "microdata":
        measures = microdata_measures(name, mapping, rows, items=[item_id], layers=[layer])
    else:
        measures = [m for m in published_measures(name, mapping, rows)[0] if m.item == item_id and m.layer == layer]
    measures.sort(key=lambda m: (m.period_start, _area_key(m.area)))
    spec = mapping.items[item_id]
    out = sys.stdout
    if fmt == "csv":
        w = csv.writer(out)
        w.writerow(["survey", "item", "layer", "area", "period_start", "period_end", "estimate", "moe", "n",
                    "n_effective", "design_effect", "scale", "suppressed", "note"])
        for m in measures:
            w.writerow([name, item_id, layer, m.area, m.period_start.date().isoformat(),
                        m.period_end.date().isoformat(), _num(m.estimate, 2), _num(m.moe, 2),
                        "" if m.n is None else m.n, _num(m.n_effective, 1),
                        _num(m.n / m.n_effective if m.n and m.n_effective else None, 3), m.scale,
                        m.suppressed or "", m.note])
        return
    p = lambda s="": print(s, file=out)  # noqa: E731
    p(f"{mapping.title or name}")
    p(f"{item_id}: {spec.question or item_id}, by {layer}")
    if mapping.kind == "microdata":
        agree = ", ".join(map(str, spec.agree))
        dk = ", ".join(map(str, spec.dont_know)) or "none"
        p(f"Share agreeing (answers {agree}) among those who answered; don't know ({dk}) left out. "
          f"95% margin of error from the Kish effective n; suppressed below n = {mapping.min_n}.")
        if measures:
            p(f"Weights: {measures[0].note}.")
        if mapping.published_moe:
            p(f"Published by the survey's authors: {mapping.published_moe}.")
        p()
        p(f"{'area':<10} {'agree':>7} {'± moe':>7} {'n':>6} {'eff. n':>8} {'deff':>6}")
        for m in measures:
            if m.suppressed:
                p(f"{m.area:<10} {'—':>7} {'':>7} {m.n:>6} {'':>8} {'':>6}  suppressed: {m.suppressed}")
            else:
                p(f"{m.area:<10} {m.estimate:>6.1f}% {m.moe:>6.1f}% {m.n:>6} {m.n_effective:>8.1f} "
                  f"{m.n / m.n_effective:>6.3f}")
        if layer != "city":
            city = microdata_measures(name, mapping, rows, items=[item_id], layers=["city"])
            if city and city[0].estimate is not None:
                c = city[0]
                p(f"{'city':<10} {c.estimate:>6.1f}% {c.moe:>6.1f}% {c.n:>6} {c.n_effective:>8.1f} "
                  f"{c.n / c.n_effective:>6.3f}")
        whole = whole_sample_moe(mapping, rows)
        p()
        p(f"Margin of error for a 50% share, whole sample (n = {whole[0]:,}, effective n = {whole[1]:,.1f}): "
          f"±{100 * whole[2]:.2f}% at 95%" + (f"; published: {mapping.published_moe}" if mapping.published_moe else ""))
        return
    p(f"As published ({spec.scale.replace('_', ' ')}); {mapping.moe_note or 'no margin of error published'}.")
    for c in mapping.caveats:
        p(f"Note: {c}")
    p()
    for m in measures:
        p(f"{m.period_start.date()} – {m.period_end.date()}  {layer} {m.area:<8} {m.estimate:6.1f}")


def whole_sample_moe(mapping, rows) -> tuple[int, float, float]:
    """(n, Kish effective n, 95% moe of a 50% share) over every respondent, with the mapping's weights."""
    from divert.surveys.estimate import kish_effective_n, moe_for, post_stratify
    from divert.surveys.measures import _number

    weights = [(_number(r.get(mapping.weight)) or 0.0) for r in rows] if mapping.weight else None
    if mapping.margins:
        strata = [(r.get(mapping.margins.column) or "").strip() or None for r in rows]
        weights = post_stratify(strata, mapping.margins.population, weights)
    weights = [w for w in (weights or [1.0] * len(rows)) if w > 0]
    n_eff = kish_effective_n(weights)
    return len(weights), n_eff, moe_for(0.5, n_eff)


def _num(v: float | None, digits: int) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _area_key(area: str):
    return (0, int(area), area) if area.isdigit() else (1, 0, area)
