"""The shipped cost models: every budget figure they quote matches the shared data it names,
the derivations give the published arithmetic, and ranges are ordered."""

from __future__ import annotations

import csv
import gzip
import statistics

import pytest

from divert.costs import share
from divert.costs.compute import CallGroup, by_route, price
from divert.costs.model import available_models, load_model
from divert.exceptions import ConfigError


def _seattle_functions(shared_data):
    path = shared_data / "budgets" / "seattle_spd_2020_adopted_budget_by_function.csv"
    with open(path, newline="", encoding="utf-8-sig") as f:
        return [{k.strip(): v for k, v in r.items() if k} for r in csv.DictReader(f)]


def test_seattle_rate_is_derived_from_the_2020_budget_by_function(shared_data):
    rows = _seattle_functions(shared_data)
    by_name = {r["Function Name"].strip(): r for r in rows}
    patrol = by_name["Emergency (911) Response Services"]
    total = sum(float(r["Budget"]) for r in rows)
    overhead = sum(float(r["Budget"]) for r in rows if r["Function Name"].startswith("Costs -"))
    sworn = sum(float(r["Sworn FTE"]) for r in rows if r["Sworn FTE"] not in ("", "N/A"))
    m = load_model("seattle")
    s = m.police_unit_hour.scenarios
    assert s["low"].dollars[0].amount == float(patrol["Budget"]) == 120_329_345
    assert s["low"].fte_total() == float(patrol["Sworn FTE"]) + float(patrol["Civilian FTE"])
    assert s["central"].dollars[1].amount == overhead
    assert s["central"].dollars[1].share == pytest.approx(float(patrol["Budget"]) / (total - overhead), abs=1e-7)
    assert s["high"].dollars[0].amount == total and s["high"].fte_total() == sworn
    r = m.police_unit_hour.rate.rounded(2)
    assert (r.low, r.central, r.high) == (78.60, 93.34, 131.39)


def test_quoted_pay_rates_match_the_wage_tables(shared_data):
    with gzip.open(shared_data / "budgets" / "seattle_city_wages_2025-02-22.csv.gz", "rt", newline="") as f:
        care = [float(r["Hourly Rate "]) for r in csv.DictReader(f)
                if r["Job Title"] in ("Community Crisis Responder I", "Community Crisis Responder II")]
    crisis = load_model("seattle").alternatives["crisis"]
    assert crisis.cost_per_hour.low == pytest.approx(2 * min(care))
    assert crisis.cost_per_hour.central == pytest.approx(2 * round(statistics.mean(care), 2) * 1.6)
    assert crisis.cost_per_hour.high == pytest.approx(2 * max(care) * 2.0)


def test_san_antonio_budget_matches_the_467_city_table():
    fy19 = next(r for r in share.lookup("San Antonio") if r.fiscal_year == 2019)
    m = load_model("san_antonio")
    assert m.police_unit_hour.scenarios["central"].dollars[0].amount == fy19.police_budget


def test_every_model_loads_with_ordered_ranges_and_sources():
    assert {"seattle", "chicago", "san_antonio"} <= set(available_models())
    for city in available_models():
        m = load_model(city)
        r = m.police_unit_hour.rate
        assert 0 < r.low <= r.central <= r.high and m.police_unit_hour.source
        assert m.on_scene.assumption and m.on_scene.source.startswith("CPSM")
        for a in m.alternatives.values():
            assert a.source and (a.cost_per_hour or a.cost_per_call)


def test_police_share_csv_is_current_and_covers_467_cities(shared_data, tmp_path):
    n = share.derive(dest=tmp_path / "share.csv")
    assert (tmp_path / "share.csv").read_text() == share.derived_csv().read_text()
    rows = share.load()
    assert len(rows) == n and len({(r.state, r.city) for r in rows}) == 467
    assert all(0 < r.share < 1 for r in rows)


def test_measured_time_wins_over_assumed_minutes():
    m = load_model("seattle")
    g = [CallGroup("crisis", "WELFARE", "911", True, True, "crisis", 3, 2, 120.0, "p"),
         CallGroup("police", "ASSAULT", "911", False, False, "police", 1, 1, 30.0, "p")]
    lines = {(x.stage, x.key): x for x in by_route(price(g, m))}
    crisis = lines[("eligible", "crisis")]
    # 2 measured calls (120 unit-minutes) + 1 assumed (32.4 / 55.08 / 82.62 unit-minutes)
    assert crisis.hours.central == pytest.approx((120 + 55.08) / 60)
    assert crisis.basis == "mixed" and lines[("all", "police")].basis == "measured"
    assert lines[("all", "police")].hours.low == lines[("all", "police")].hours.high == 0.5


def test_a_model_without_sources_is_refused(tmp_path):
    bad = tmp_path / "x.yaml"
    bad.write_text("fiscal_year: 2020\npolice_unit_hour: {entered: {low: 1, central: 2, high: 3}}\n"
                   "on_scene: on_scene_cpsm_morgan_hill_2015.yaml\n")
    with pytest.raises(ConfigError, match="source"):
        load_model("x", bad)


def test_models_are_found_as_every_reference_file_is(tmp_path):
    """reference/costs/<city>.yaml through divert.reference: a missing model lists the cities that
    have one (not the on-scene tables beside them); a model's own on-scene mapping is checked
    under the model's name."""
    with pytest.raises(ConfigError, match=r"costs/milwaukee\.yaml: no cost model for 'milwaukee' "
                                          r"\(known: [^)]*seattle[^)]*\)") as missing:
        load_model("milwaukee")
    assert "on_scene" not in str(missing.value)
    inline = tmp_path / "x.yaml"
    inline.write_text("fiscal_year: 2020\npolice_unit_hour: {source: s, year: 2020, entered: 90}\n"
                      "on_scene: {default: {other_initiated: {units: 1, minutes: 30}}}\n")
    with pytest.raises(ConfigError, match=r"x\.yaml: on_scene: 'source' is required"):
        load_model("x", inline)
