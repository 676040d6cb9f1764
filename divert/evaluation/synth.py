"""Synthetic control: the program's areas against a weighted combination of untreated areas,
the weights fitted on the pre-period only (Abadie, Diamond & Hainmueller 2010).

Areas differ in size, so each series is divided by its own pre-period mean before fitting: the
weights (non-negative, summing to one) make the donors' combined *relative* series track the
program areas' relative series before the start; the counterfactual is that combination times
the program areas' pre-period mean. A level difference therefore never needs a donor of the
same size, and the day-of-week cycle, shared by all areas, cancels.

Donors are the untreated areas of the program's layer and, when the panel carries them
(:meth:`DailyPanel.with_other_layers`), the areas of the city's other layers that do not lie in
a program area (a district of another substation, a zip code elsewhere). The wider pool is kept
only when it predicts the last 30% of the pre-period days, fitted on the rest, at least as well as
the program's layer alone: many small, noisy donors can fit the past and miss the future.

The estimator's own interval is not used: its uncertainty comes from randomisation over areas
and dates (:mod:`divert.evaluation.calibrate`), as no normal approximation fits one treated unit.

>>> from divert.evaluation._synthetic import synthetic_panel
>>> est = synthetic_control(synthetic_panel(effect=0.3))
>>> -0.4 < est.relative < -0.2, round(sum(est.details["weights"].values()), 6)   # a 30% cut was planted
(True, 1.0)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from divert.evaluation.estimate import Estimate
from divert.evaluation.panel import DailyPanel, EvaluationError


def simplex_weights(target: np.ndarray, donors: np.ndarray, *, penalty: float = 1e3) -> np.ndarray:
    """argmin ‖target − donors·w‖ with w ≥ 0 and Σw = 1 (the sum enforced by a heavy extra row).

    >>> w = simplex_weights(np.array([1.0, 2.0, 3.0]), np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]))
    >>> w.round(3).tolist()
    [1.0, 0.0]
    """
    from scipy.optimize import nnls  # scipy.optimize takes most of a second to import: only when fitting

    a = np.vstack([donors, penalty * np.ones((1, donors.shape[1]))])
    b = np.concatenate([target, [penalty]])
    w, _ = nnls(a, b, maxiter=50 * donors.shape[1] + 100)
    total = w.sum()
    return w / total if total > 0 else np.full(donors.shape[1], 1.0 / donors.shape[1])


def _holdout_error(target: np.ndarray, donors: np.ndarray, share: float = 0.3) -> float:
    """Root mean square error on the last ``share`` of the pre-period days, weights fitted on the
    rest: how well a donor pool predicts days it was not fitted on."""
    cut = int(len(target) * (1 - share))
    if cut < 5 or len(target) - cut < 3:
        return 0.0
    w = simplex_weights(target[:cut], donors[:cut])
    return float(np.sqrt(((target[cut:] - donors[cut:] @ w) ** 2).mean()))


def synthetic_control(panel: DailyPanel, *, alpha: float = 0.05, min_other: float = 2.0) -> Estimate:
    """The program's areas against the weighted donors (``min_other``: the fewest calls a day an
    area of another layer needs before the start to be a donor; fewer make a noisy relative series)."""
    panel.require(control=True)
    if panel.kind != "count":
        raise EvaluationError("synthetic control here weighs counts; use its or did for "
                              f"a continuous outcome such as {panel.outcome}")
    wide = panel.wide()
    days = pd.DatetimeIndex(wide.index)
    post = np.asarray(days >= panel.start)
    y = panel.treated_total().reindex(days).to_numpy(dtype=float)
    pool = panel.columns(panel.control_areas)
    if panel.other_donors is not None and len(panel.other_donors.columns):
        pool = pool.join(panel.other_donors.reindex(days).fillna(0.0))
    level = pool.loc[~post].mean()
    keep = [i for i, (a, v) in enumerate(zip(pool.columns, level.to_numpy(), strict=True))
            if v >= (min_other if ":" in str(a) else 1e-9)]
    if not keep:
        raise EvaluationError("no untreated area has calls before the start")
    donors = [pool.columns[i] for i in keep]
    x = pool.iloc[:, keep].to_numpy(dtype=float)   # by position: this runs for every placebo fit
    y_level, x_level = y[~post].mean(), x[~post].mean(axis=0)
    if y_level <= 0:
        raise EvaluationError("the program's areas have no calls before the start")
    yr, xr = y / y_level, x / x_level
    same = np.array([":" not in str(a) for a in donors])
    pool_note = "the program's layer"
    if not same.all() and same.any() and _holdout_error(yr[~post], xr[~post][:, same]) <= _holdout_error(yr[~post], xr[~post]):
        # the other layers' areas did not predict the held-out pre-period days better: leave them out
        donors, x, xr = [d for d, k in zip(donors, same, strict=True) if k], x[:, same], xr[:, same]
    elif not same.all():
        pool_note = "the program's layer and the city's other layers"
    w = simplex_weights(yr[~post], xr[~post])
    synthetic = xr @ w * y_level
    counterfactual = pd.Series(synthetic, index=days)
    observed = pd.Series(y, index=days)
    gap = observed - counterfactual
    effect = float(gap[post].mean())
    pre_rmspe = float(np.sqrt((gap[~post] ** 2).mean()))
    r2 = 1 - float(((yr[~post] - xr[~post] @ w) ** 2).sum() / ((yr[~post] - yr[~post].mean()) ** 2).sum())
    weights = {a: float(v) for a, v in sorted(zip(donors, w, strict=True), key=lambda t: -t[1]) if v >= 0.005}
    return Estimate(
        method="sc", effect=effect, se=float("nan"), ci_low=float("nan"), ci_high=float("nan"),
        p_value=float("nan"), baseline=float(counterfactual[post].mean()), pre_days=int((~post).sum()),
        post_days=int(post.sum()), observed=observed, counterfactual=counterfactual,
        details={"weights": weights, "pre-period fit R² (relative series)": r2,
                 "pre-period RMSPE (per day)": pre_rmspe, "donor areas": len(donors),
                 "donors from": pool_note})
