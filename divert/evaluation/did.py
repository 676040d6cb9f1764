"""Difference-in-differences: the program's areas against the untreated areas of the same
layer, before and after, with area and day fixed effects (as in the Denver STAR evaluation:
treated precincts vs the rest, two-way fixed effects).

    y_ad = α_a + γ_d + δ·treated_a·post_d + e_ad

Standard errors are clustered by month of the observed days (a sampled city's days come in
monthly runs; errors within a run are correlated, across areas too). The effect reported is
δ × the number of treated areas: the change in the treated areas' total per day.

>>> from divert.evaluation._synthetic import synthetic_panel
>>> est = difference_in_differences(synthetic_panel(effect=0.3))
>>> est.significant, -0.4 < est.relative < -0.2   # a 30% cut was planted
(True, True)
>>> difference_in_differences(synthetic_panel(effect=0.0)).significant
False
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from divert.evaluation.estimate import Estimate
from divert.evaluation.panel import DailyPanel


def _demean_two_way(values: np.ndarray) -> np.ndarray:
    """Within transform of a balanced days × areas matrix (area and day effects removed)."""
    return values - values.mean(axis=0, keepdims=True) - values.mean(axis=1, keepdims=True) + values.mean()


def _cluster_sums(values: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Each cluster's sum, clusters in sorted order: ``pd.Series(values, index=clusters)
    .groupby(level=0).sum()``. Days come sorted, so a cluster is one run of rows, summed as pandas
    sums sorted groups (``np.add.reduceat``) without its per-call overhead.

    >>> _cluster_sums(np.array([1.0, 2.0, 4.0]), np.array(["2024-01", "2024-01", "2024-02"], dtype=object))
    array([3., 4.])
    """
    if len(values) and not np.isnan(values).any() and (clusters[1:] >= clusters[:-1]).all():
        return np.add.reduceat(values, np.flatnonzero(np.r_[True, clusters[1:] != clusters[:-1]]))
    return pd.Series(values, index=clusters).groupby(level=0).sum().to_numpy()


def difference_in_differences(panel: DailyPanel, *, alpha: float = 0.05) -> Estimate:
    panel.require(control=True)
    # the treated areas' columns, then the untreated ones, as numpy: this runs for every placebo
    # program of a calibration, and selecting columns of a frame costs more than the fit
    wide = panel.wide()
    columns = sorted(panel.treated) + panel.control_areas
    position = {area: i for i, area in enumerate(wide.columns)}
    y = wide.to_numpy(dtype=float)[:, [position[a] for a in columns]]
    days = pd.DatetimeIndex(wide.index)
    complete = ~np.isnan(y).any(axis=1)
    if not complete.all():  # a continuous outcome with missing area-days: drop those days
        y, days = y[complete], days[complete]
    post = np.asarray(days >= panel.start)
    treated_cols = np.array([a in panel.treated for a in columns])
    d = np.outer(post, treated_cols).astype(float)
    y_t, d_t = _demean_two_way(y), _demean_two_way(d)
    delta = float((d_t * y_t).sum() / (d_t * d_t).sum())
    resid = y_t - delta * d_t
    # cluster-robust (by month) sandwich for the one regressor after the within transform
    from divert.evaluation.its import cluster_periods

    months = cluster_periods(days)
    scores = _cluster_sums((d_t * resid).sum(axis=1), months)
    g = len(scores)
    n_obs, k = y.size, 1 + (len(days) - 1) + (y.shape[1] - 1)
    correction = (g / (g - 1)) * ((n_obs - 1) / max(n_obs - k, 1)) if g > 1 else 1.0
    var = correction * float((scores ** 2).sum()) / float((d_t * d_t).sum()) ** 2
    se_area = float(np.sqrt(var))
    n_t = int(treated_cols.sum())
    effect, se = delta * n_t, se_area * n_t
    # scipy.stats.t.ppf and .sf compute these: called directly, a placebo fit skips half a millisecond
    # of argument checks each, and scipy.stats (a second and a half) is not imported
    crit = special.stdtrit(max(g - 1, 1), 1 - alpha / 2)
    # numpy until the series are returned: this runs for every placebo program of a calibration
    treated = y[:, treated_cols].sum(axis=1) if panel.kind == "count" else y[:, treated_cols].mean(axis=1)
    scale = n_t if panel.kind == "count" else 1
    control = y[:, ~treated_cols].mean(axis=1) * scale
    gap = float((treated[~post] - control[~post]).mean())
    counterfactual = control + gap
    if panel.kind != "count":
        effect, se = delta, se_area
    baseline = float(counterfactual[post].mean())
    treated, control, counterfactual = (pd.Series(v, index=days) for v in (treated, control, counterfactual))
    p = float(2 * special.stdtr(max(g - 1, 1), -abs(effect / se))) if se > 0 else float("nan")
    return Estimate(
        method="did", effect=effect, se=se, ci_low=effect - crit * se, ci_high=effect + crit * se,
        p_value=p, baseline=baseline, pre_days=int((~post).sum()), post_days=int(post.sum()),
        observed=treated, counterfactual=counterfactual, control=control,
        details={"effect per treated area per day (δ)": delta, "treated areas": n_t,
                 "untreated areas": int((~treated_cols).sum()), "clusters (months; weeks when under 6)": g})
