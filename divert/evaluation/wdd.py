"""Weighted displacement difference (Ratcliffe's WDD; the test of Wheeler & Ratcliffe 2018).

    WDD = ΔT − ΔC_T + ΔD − ΔC_D

Δ is the change in a count from before to after: T the program's areas, D an optional
displacement (buffer) area, C_T and C_D their controls. Counts are turned into rates per
observed day (before and after have different numbers of days), and the control is the
average untreated area scaled to the number of treated (or displacement) areas. With
Poisson counts

    Var(WDD) = T1/n1² + T0/n0² + s²·(C1/n1² + C0/n0²)/k² + (D terms alike)

(n0, n1 observed days before and after, k untreated areas, s the areas scaled to). Daily
counts vary more than Poisson; the variance is also reported multiplied by the dispersion φ
of the pre-period days (variance/mean of the counts around their weekday means), and the
interval reported is the φ-adjusted one (φ = 1 gives Ratcliffe's exactly).

>>> from divert.evaluation._synthetic import synthetic_panel
>>> est = weighted_displacement_difference(synthetic_panel(effect=0.3))
>>> est.significant, -0.4 < est.relative < -0.2   # a 30% cut was planted
(True, True)
>>> weighted_displacement_difference(synthetic_panel(effect=0.0)).significant
False
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import special

from divert.evaluation.estimate import Estimate
from divert.evaluation.panel import DailyPanel, EvaluationError


def dispersion(daily: pd.Series) -> float:
    """Variance over mean of daily counts around their weekday means (≥ 1).

    >>> s = pd.Series([10.0, 10, 10, 10], index=pd.date_range("2024-01-01", periods=4, freq="7D"))
    >>> dispersion(s)
    1.0
    """
    if len(daily) < 8 or daily.mean() <= 0:
        return 1.0
    weekday = pd.DatetimeIndex(daily.index).day_of_week
    resid = daily - daily.groupby(weekday).transform("mean")
    dof = max(len(daily) - len(set(weekday)), 1)
    return max(1.0, float((resid ** 2).sum() / dof / daily.mean()))


def weighted_displacement_difference(panel: DailyPanel, *, displacement: Iterable[str] = (),
                                     alpha: float = 0.05) -> Estimate:
    if panel.kind != "count":
        raise EvaluationError("WDD compares counts; use its or did for a continuous outcome "
                              f"such as {panel.outcome}")
    panel.require(control=True)
    wide = panel.wide()
    days = pd.DatetimeIndex(wide.index)
    post = np.asarray(days >= panel.start)
    n0, n1 = int((~post).sum()), int(post.sum())
    displacement = sorted(set(displacement))
    control_cols = [a for a in panel.control_areas if a not in displacement]
    if not control_cols:
        raise EvaluationError("no untreated areas left as controls")
    k = len(control_cols)

    def rate_change(cols: list[str], scale: float = 1.0) -> tuple[float, float, pd.Series]:
        daily = wide[cols].sum(axis=1) * scale
        c0, c1 = float(wide.loc[~post, cols].to_numpy().sum()), float(wide.loc[post, cols].to_numpy().sum())
        delta = (c1 / n1 - c0 / n0) * scale
        var = (c1 / n1 ** 2 + c0 / n0 ** 2) * scale ** 2
        return delta, var, daily

    treated_cols = sorted(panel.treated)
    d_t, v_t, treated = rate_change(treated_cols)
    d_c, v_c, control = rate_change(control_cols, len(treated_cols) / k)
    wdd, var = d_t - d_c, v_t + v_c
    if displacement:
        d_d, v_d, _ = rate_change(displacement)
        d_cd, v_cd, _ = rate_change(control_cols, len(displacement) / k)
        wdd, var = wdd + d_d - d_cd, var + v_d + v_cd
    phi = dispersion(treated[~post])
    se_poisson, se = float(np.sqrt(var)), float(np.sqrt(var * phi))
    z = special.ndtri(1 - alpha / 2)   # scipy.stats.norm.ppf's own computation, without scipy.stats
    gap = float(treated[~post].mean() - control[~post].mean())
    counterfactual = control + gap
    return Estimate(
        method="wdd", effect=wdd, se=se, ci_low=wdd - z * se, ci_high=wdd + z * se,
        p_value=float(2 * special.ndtr(-abs(wdd / se))) if se > 0 else float("nan"),
        baseline=float(counterfactual[post].mean()), pre_days=n0, post_days=n1,
        observed=treated, counterfactual=counterfactual, control=control,
        details={"Poisson (Ratcliffe) 95% interval": (wdd - z * se_poisson, wdd + z * se_poisson),
                 "dispersion φ (pre-period days)": phi, "untreated areas": k,
                 "displacement areas": ", ".join(displacement) or "none"})
