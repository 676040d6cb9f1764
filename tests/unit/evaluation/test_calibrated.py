"""Calibrated inference, synthetic control, boundary changes, the lead method and the honest
placebo verdict, on synthetic panels with a known truth (real-data figures: bench/evaluation.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from divert.evaluation import METHODS, DailyPanel, EvaluationError
from divert.evaluation._synthetic import synthetic_panel
from divert.evaluation.boundary import broken_areas, share_breaks
from divert.evaluation.calibrate import NullDistribution, calibrated, noise, null_distribution
from divert.evaluation.compare import compare
from divert.evaluation.placebo import PlaceboResult, verdict
from divert.evaluation.synth import synthetic_control


def _planted(panel: DailyPanel, share: float) -> float:
    post = panel.treated_total()[panel.is_post()]
    return -share / (1 - share) * float(post.mean())


@pytest.mark.heavy
@pytest.mark.parametrize("method", ["sc", "did"])
def test_calibrated_intervals_hold_their_level_and_cover_a_planted_cut(method):
    fn = METHODS[method]
    false = sum(calibrated(fn, synthetic_panel(effect=0.0, seed=s, overdispersion=0.05)).significant
                for s in range(12))
    assert false <= 2, f"{method}: {false}/12 null panels 'found' an effect"
    covered = found = 0
    for s in range(12):
        panel = synthetic_panel(effect=0.3, seed=100 + s, overdispersion=0.05)
        est = calibrated(fn, panel)
        covered += est.covers(_planted(panel, 0.3))
        found += est.significant
    assert covered >= 11 and found >= 10, (method, covered, found)


def test_intervals_come_from_placebo_programs_not_a_normal_approximation():
    panel = synthetic_panel(effect=0.3)
    est = calibrated(METHODS["did"], panel)
    null = est.null
    assert isinstance(null, NullDistribution) and len(null) >= 40
    lo, hi = null.bounds()
    scale = noise(est)
    assert 0 < scale < 1 and est.details["pre-period noise per day (relative)"] == scale
    assert est.ci_low == pytest.approx((est.relative - hi * scale) * est.baseline)
    assert est.ci_high == pytest.approx((est.relative - lo * scale) * est.baseline)
    assert est.details["interval from"].startswith("randomisation over")
    assert "model-based 95% interval (not used)" in est.details
    # the program's own areas only ever enter before their real start
    assert all(start < panel.start for area, start, _, _ in null.draws if area == "program areas")
    assert {area for area, *_ in null.draws} - {"program areas"} <= set(panel.control_areas)


def test_too_few_placebo_programs_give_an_unbounded_interval_and_no_mde():
    null = NullDistribution(tuple(("a", pd.Timestamp(0), 0.01 * i, 0.1) for i in range(10)))
    assert null.bounds() == (float("-inf"), float("inf")) and null.mde() == float("-inf")


def test_synthetic_control_fits_the_pre_period_with_weights_on_the_simplex():
    est = synthetic_control(synthetic_panel(effect=0.0, seed=4))
    weights = est.details["weights"]
    assert set(weights) <= set("BCDEFGH") and sum(weights.values()) == pytest.approx(1.0, abs=0.02)
    assert all(w >= 0 for w in weights.values())
    assert est.details["pre-period fit R² (relative series)"] > 0  # better than a flat line (Poisson noise dominates)
    assert abs(est.relative) < 0.1


def _redistricted(seed: int = 3) -> pd.DataFrame:
    """Areas C, N, S, E over 30 months; from month 18 a new area D takes 40% of C's calls."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(30):
        for d in range(4):
            day = pd.Timestamp(2022, 1, 1) + pd.DateOffset(months=m) + pd.Timedelta(days=d)
            for area, level in (("C", 60), ("N", 80), ("S", 70), ("E", 50)):
                lam = level * (0.6 if area == "C" and m >= 18 else 1.0)
                rows.append((day, area, float(rng.poisson(lam))))
            rows.append((day, "D", float(rng.poisson(24)) if m >= 18 else 0.0))
    return pd.DataFrame(rows, columns=["day", "area", "value"])


def test_a_boundary_change_is_caught_and_named():
    calls = _redistricted()
    found = share_breaks(calls, {"C"})
    assert [b.month for b in found] == ["2023-07"] and found[0].direction == "fell"
    assert "D" in found[0].appeared and "Boundary change" in found[0].describe("C (district)")
    assert share_breaks(calls, {"N"}) == [] and share_breaks(calls, {"S"}) == []
    assert set(broken_areas(calls, calls["day"].min(), calls["day"].max())) <= {"C", "D"}


@pytest.fixture(scope="module")
def across_a_break():
    """C redistricted in 2023-07, a program on C from 2023-01: the panel, its breaks and the
    comparison of synthetic control and DiD across the break (computed once: hundreds of fits)."""
    calls = _redistricted()
    panel = DailyPanel.build(calls, treated=["C"], start="2023-01-01", outcome="calls")
    breaks = share_breaks(calls, {"C"})
    return panel, breaks, compare(panel, methods=("sc", "did"), placebo_runs=3, breaks=breaks)


def test_the_headline_is_withheld_across_a_break_unless_named_intended(across_a_break):
    panel, breaks, withheld = across_a_break
    assert withheld.withheld and withheld.breaks[0].month == "2023-07"
    named = compare(panel, methods=("did",), placebo_runs=3, breaks=breaks,
                    intended=[pd.Timestamp("2023-07-01")])
    assert not named.withheld


@pytest.mark.heavy
def test_the_lead_is_the_method_closest_to_nominal_and_its_mde_is_stated():
    c = compare(synthetic_panel(effect=0.3, seed=2), methods=("sc", "did", "its"), placebo_runs=10)
    rates = {m: abs(r.fpr - 0.05) for m, r in c.runs.items()}
    assert rates[c.lead] == min(rates.values())
    assert -1 < c.runs[c.lead].mde < 0


def _est(effect: float, significant: bool = False):
    from divert.evaluation.estimate import Estimate

    lo, hi = (effect - 0.5, effect + 0.5) if significant else (effect - 50, effect + 50)
    return Estimate("did", effect, 1.0, lo, hi, 0.5, 10.0, 10, 10, pd.Series(dtype=float), pd.Series(dtype=float))


def test_no_trust_from_a_handful_of_runs_or_from_runs_that_lean_one_way():
    few = PlaceboResult([(pd.Timestamp(2024, 1, i + 1), _est(6.0 + i)) for i in range(7)])
    assert not verdict(few).trusted and "too few" in verdict(few).text
    leaning = PlaceboResult([(pd.Timestamp(2024, 1, i + 1), _est(5.0 + i / 10)) for i in range(14)])
    v = verdict(leaning)
    assert not v.trusted and "lean one way" in v.text and "14 above zero, 0 below" in v.text
    balanced = PlaceboResult([(pd.Timestamp(2024, 1, i + 1), _est((-1) ** i * 2.0)) for i in range(14)])
    assert verdict(balanced).trusted


def test_non_geographic_areas_never_enter_the_comparison():
    frame = synthetic_panel().data
    frame = pd.concat([frame, frame[frame["area"] == "B"].assign(area="INFO")])
    panel = DailyPanel.build(frame, treated=["A"], start="2023-07-01", outcome="calls", non_geographic=["INFO", "TAC5"])
    assert "INFO" not in panel.areas and "INFO" not in panel.control_areas
    assert any("INFO" in n for n in panel.notes)
    null = null_distribution(METHODS["sc"], panel, starts=3)
    assert "INFO" not in {a for a, *_ in null.draws}
    with pytest.raises(EvaluationError, match="not places"):
        DailyPanel.build(frame, treated=["INFO"], start="2023-07-01", outcome="calls", non_geographic=["INFO"])


def test_city_mappings_mark_their_pseudo_areas():
    from divert.adapters import load_adapter
    from divert.adapters.mapping import non_geographic, parse_mapping
    from divert.exceptions import ConfigError

    sa = non_geographic(load_adapter("san_antonio").mapping, "substation")
    assert {"INFO", "TRAFFIC", "TAC5", "SAPD OUTSIDE AREA"} <= sa and "NORTH" not in sa and "AIRPORT" not in sa
    assert {"CITY", "OUT"} <= non_geographic(load_adapter("milwaukee").mapping, "district")
    base = {"timezone": "UTC", "fields": {"incident_id": "id", "initial_type": "t"},
            "times": {"received_at": {"column": "at", "formats": ["iso"]}}, "areas": {"beat": "b"}}
    with pytest.raises(ConfigError, match="non_geographic.precinct"):
        parse_mapping({**base, "non_geographic": {"precinct": ["X"]}}, "test.yaml")
    with pytest.raises(ConfigError, match="non-empty"):
        parse_mapping({**base, "non_geographic": {"beat": [" "]}}, "test.yaml")


def test_the_report_leads_with_the_break_and_shows_no_effect_across_it(across_a_break):
    from divert.evaluation.report import EvaluationResult, ProgramInfo, fetches_anything, render, summary

    panel, _, c = across_a_break
    info = ProgramInfo("central-navigators", "san_antonio", "substation", ("C",), ("navigator",), panel.start)
    r = EvaluationResult(info, "calls", "community calls, per day", "calls per day", c.estimate, c.placebo,
                         ("p-1",), comparison=c)
    text = summary(r)
    assert text[0].startswith("Boundary change: from 2023-07") and "No effect is reported" in text[1]
    assert not any(t.startswith("After ") for t in text) and "a day (" not in " ".join(text)
    html = render(r)
    assert "Central navigators, San Antonio: what changed?" in html and not fetches_anything(html)
    assert "withheld: the days cross a boundary change" in html and "<th>95% interval</th><td>" not in html


@pytest.mark.heavy
def test_the_report_states_the_lead_its_placebo_rate_and_the_mde_first():
    from divert.evaluation.report import EvaluationResult, ProgramInfo, render, summary

    panel = synthetic_panel(effect=0.3, seed=5)
    c = compare(panel, methods=("sc", "did"), placebo_runs=10)
    info = ProgramInfo("north-crisis-team", "example_city", "district", ("A",), ("crisis",), panel.start)
    r = EvaluationResult(info, "calls", "community calls, per day", "calls per day", c.estimate, c.placebo,
                         ("p-1",), comparison=c)
    text = summary(r)
    assert text[0].startswith(f"Lead method: {c.estimate.method_name}") and "false-positive rate" in text[0]
    assert any(t.startswith("Minimum detectable effect: ") and "80% power" in t for t in text)
    assert any(t.startswith("After North crisis team started") for t in text)
    html = render(r)
    assert "North crisis team, Example City: what changed?" in html and "Methods compared" in html


def test_other_layers_lend_donors_that_never_lie_in_a_program_area():
    from divert.evaluation.calibrate import _as_treated

    panel = synthetic_panel(effect=0.3, seed=6)
    wide = panel.wide()
    # "zip" areas: one lies in the program's area A, the others in B and C (halves of their calls)
    rows = [(d, f"zip:{a}", v / 2) for a in ("A", "B", "C") for d, v in wide[a].items()]
    values = pd.DataFrame(rows, columns=["day", "area", "value"])
    p = panel.with_other_layers(values, {"zip:A": {"A"}, "zip:B": {"B"}, "zip:C": {"C", "D"}})
    assert list(p.other_donors.columns) == ["zip:B", "zip:C"]          # zip:A holds the program's calls
    assert list(_as_treated(p, "C").other_donors.columns) == ["zip:B"]  # a placebo on C: not its own calls
    assert p.before(p.start).other_donors.index.max() < p.start
    est = synthetic_control(p)
    assert est.details["donors from"] in ("the program's layer", "the program's layer and the city's other layers")
    assert not any(k.startswith("zip:A") for k in est.details["weights"])
    assert calibrated(METHODS["sc"], p).significant
