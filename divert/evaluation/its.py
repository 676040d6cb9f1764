"""Interrupted time series: segmented regression of the treated areas' daily outcome.

    y_d = b0 + b1·t + b2·post + b3·post·t + weekday + (annual cycle) + e_d

with t the calendar days since the start (sampled days keep their real spacing), weekday
dummies for the day-of-week cycle, one annual harmonic when the pre-period spans a year,
and autocorrelation-robust standard errors: clustered by month, so any correlation among
the days of a month (a sampled city's days come in monthly runs) is allowed; intervals use
t quantiles with months − 1 degrees of freedom. (Newey–West HAC errors were tried and
'found' effects on placebo dates more often: about 20% against 13% on synthetic data.) The effect reported is the
average over the post days of b2 + b3·t: the mean gap between what was observed and the
counterfactual line (the fit with b2 = b3 = 0).

>>> from divert.evaluation._synthetic import synthetic_panel
>>> est = interrupted_time_series(synthetic_panel(effect=0.3, seed=1))
>>> est.significant, -0.4 < est.relative < -0.2   # a 30% cut was planted
(True, True)
>>> interrupted_time_series(synthetic_panel(effect=0.0, seed=1)).significant
False
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from divert.evaluation.estimate import Estimate
from divert.evaluation.panel import DailyPanel


def design(days: pd.DatetimeIndex, start: pd.Timestamp, *, annual: bool) -> pd.DataFrame:
    t = np.asarray((days - start).days, dtype=float)
    post = (t >= 0).astype(float)
    # the columns as arrays, one frame built at the end: a column added to a frame at a time was
    # most of a placebo fit's time
    columns = {"const": np.ones(len(days)), "t": t / 365.25, "post": post, "post_t": post * t / 365.25}
    weekday = days.day_of_week.to_numpy()
    for wd in range(1, 7):
        columns[f"wd{wd}"] = (weekday == wd).astype(float)
    if annual:
        angle = 2 * np.pi * days.day_of_year.to_numpy() / 365.25
        columns["sin_year"], columns["cos_year"] = np.sin(angle), np.cos(angle)
    x = pd.DataFrame(columns, index=days)
    return x.loc[:, x.std(ddof=0).gt(0) | (x.columns == "const")]


def cluster_periods(days: pd.DatetimeIndex) -> np.ndarray:
    """Months as clusters; weeks when the data span fewer than 6 months (Milwaukee: 3 weeks),
    since one cluster leaves no variance to estimate (the sandwich is then zero or undefined).

    >>> len(set(cluster_periods(pd.date_range("2018-05-01", periods=21))))
    4
    """
    # numpy's month unit names the same months as pandas' monthly periods ("2018-05"), in a tenth
    # of the time: this runs for every placebo fit of a calibration
    local = days.tz_localize(None) if days.tz is not None else days
    months = np.datetime_as_string(np.asarray(local, dtype="datetime64[M]")).astype(object)
    if len(set(months)) >= 6:
        return months
    return np.asarray(days.to_period("W").astype(str))


def hac_lags(n: int) -> int:
    """Newey–West's rule of thumb, at least a week of observed days."""
    return max(7, int(4 * (n / 100) ** (2 / 9)))


def interrupted_time_series(panel: DailyPanel, *, alpha: float = 0.05) -> Estimate:
    panel.require()
    y = panel.treated_total().dropna()
    days = pd.DatetimeIndex(y.index)
    pre_span = (panel.start - days.min()).days
    x = design(days, panel.start, annual=pre_span >= 365)
    months = pd.factorize(cluster_periods(days))[0]
    # statsmodels takes about a second to import: only when a series is fitted
    from statsmodels.regression.linear_model import OLS

    fit = OLS(y.to_numpy(), x.to_numpy()).fit(cov_type="cluster", cov_kwds={"groups": months}, use_t=True)
    names = list(x.columns)
    post_mask = x["post"].to_numpy() == 1
    c = np.zeros(len(names))
    c[names.index("post")] = 1.0
    c[names.index("post_t")] = x.loc[post_mask, "t"].mean()
    effect = float(c @ fit.params)
    se = float(np.sqrt(c @ fit.cov_params() @ c))
    dof = max(len(set(months)) - 1, 1)
    crit = special.stdtrit(dof, 1 - alpha / 2)   # scipy.stats.t.ppf's own computation, without scipy.stats
    no_program = x.copy()
    no_program[["post", "post_t"]] = 0.0
    counterfactual = pd.Series(no_program.to_numpy() @ fit.params, index=days)
    baseline = float(counterfactual[post_mask].mean())
    p = float(2 * special.stdtr(dof, -abs(effect / se))) if se > 0 else float("nan")
    return Estimate(
        method="its", effect=effect, se=se, ci_low=effect - crit * se, ci_high=effect + crit * se,
        p_value=p, baseline=baseline, pre_days=int((~post_mask).sum()), post_days=int(post_mask.sum()),
        observed=y, counterfactual=counterfactual,
        details={"level change at start": float(fit.params[names.index("post")]),
                 "trend change per year": float(fit.params[names.index("post_t")]),
                 "clusters (months; weeks when under 6)": len(set(months)),
                 "annual cycle modelled": "sin_year" in names, "R²": float(fit.rsquared)})
