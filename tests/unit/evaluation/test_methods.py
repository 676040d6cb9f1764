"""Evaluation methods on synthetic panels with a known effect (the real-data checks are in
tests/integration/test_report_render.py and the report of issue 8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from divert.evaluation import METHODS, DailyPanel, EvaluationError, evaluate, observed_days
from divert.evaluation._synthetic import synthetic_panel
from divert.evaluation.placebo import placebo_starts
from divert.evaluation.wdd import weighted_displacement_difference


def _true_effect(panel_with_effect: DailyPanel, share: float) -> float:
    post = panel_with_effect.treated_total()[panel_with_effect.is_post()]
    return -share / (1 - share) * float(post.mean())


MODEL_BASED = ["did", "its", "wdd"]  # synthetic control has no model-based interval: see test_calibrated.py


@pytest.mark.parametrize("method", MODEL_BASED)
def test_planted_reduction_is_recovered(method):
    covered = 0
    for seed in range(10):
        panel = synthetic_panel(effect=0.3, seed=seed)
        est = METHODS[method](panel)
        assert est.effect < 0 and est.significant, (method, seed, est)
        covered += est.covers(_true_effect(panel, 0.3))
    assert covered >= 7, f"{method}: the 95% interval covered the planted effect {covered}/10 times"


@pytest.mark.parametrize("method", ["did", "wdd"])
def test_no_effect_is_rarely_found(method):
    found = sum(METHODS[method](synthetic_panel(effect=0.0, seed=s)).significant for s in range(30))
    assert found <= 4, f"{method} found an effect in {found}/30 panels without one"


def test_placebo_starts_lie_before_the_real_start_with_room_on_both_sides():
    panel = synthetic_panel()
    starts = placebo_starts(panel, runs=10)
    pre = panel.days[panel.days < panel.start]
    assert starts and all(s < panel.start for s in starts)
    for s in starts:
        assert (pre < s).sum() >= 30 and (pre >= s).sum() >= 20


@pytest.mark.heavy
def test_evaluate_returns_placebo_runs_that_never_see_post_days():
    est, placebo = evaluate(synthetic_panel(effect=0.5, seed=3), "did", placebo_runs=6)
    assert est.significant
    assert placebo.runs and all(e.observed.index.max() < est.observed.index[est.pre_days] for _, e in placebo.runs)
    assert placebo.false_positives <= 2  # a 50% cut after the start cannot leak into the placebos


def test_wdd_matches_the_formula_by_hand():
    days = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01", "2024-02-02", "2024-02-03"])
    values = {"T": [10, 12, 6, 7, 5], "C1": [20, 22, 21, 19, 20], "C2": [8, 8, 9, 7, 8]}
    frame = pd.DataFrame([(d, a, float(v[i])) for a, v in values.items() for i, d in enumerate(days)],
                         columns=["day", "area", "value"])
    panel = DailyPanel.build(frame, treated=["T"], start="2024-02-01", outcome="calls")
    object.__setattr__(panel, "require", lambda **kw: None)  # tiny panel: skip the minimum-days rule
    est = weighted_displacement_difference(panel)
    t0, t1, c0, c1, n0, n1, k = 22, 18, 58, 84, 2, 3, 2
    expected = (t1 / n1 - t0 / n0) - (c1 / n1 - c0 / n0) / k
    var = t1 / n1 ** 2 + t0 / n0 ** 2 + (c1 / n1 ** 2 + c0 / n0 ** 2) / k ** 2
    assert est.effect == pytest.approx(expected)
    lo, hi = est.details["Poisson (Ratcliffe) 95% interval"]
    assert (hi - lo) / 2 == pytest.approx(1.959964 * np.sqrt(var), rel=1e-5)


def test_wdd_refuses_a_continuous_outcome():
    panel = synthetic_panel()
    from dataclasses import replace

    with pytest.raises(EvaluationError, match="counts"):
        weighted_displacement_difference(replace(panel, kind="continuous"))


def test_sampled_days_are_never_zero_filled_and_missing_area_days_are():
    days = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01"])
    frame = pd.DataFrame({"day": days, "area": ["A", "A", "B"], "value": [3.0, 4.0, 5.0]})
    panel = DailyPanel.build(frame, treated=["A"], start="2024-02-01", outcome="calls")
    assert list(panel.days) == list(days)  # January 3..31 stay absent, not zero
    assert panel.wide().loc["2024-02-01", "A"] == 0.0 and panel.wide().loc["2024-01-01", "B"] == 0.0


def test_observed_days_drop_partial_days():
    s = pd.Series([3000, 3100, 40, 2900], index=pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-07", "2024-02-01"]))
    assert len(observed_days(s)) == 3


def test_a_program_area_without_calls_is_named():
    frame = pd.DataFrame({"day": pd.to_datetime(["2024-01-01"]), "area": ["A"], "value": [1.0]})
    with pytest.raises(EvaluationError, match="NORHT"):
        DailyPanel.build(frame, treated=["NORHT"], start="2024-01-01", outcome="calls")
