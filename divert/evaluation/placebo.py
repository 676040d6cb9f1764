"""Placebo starts: pretend the program began on earlier dates, using only the days before its
real start, and count how often the method 'finds' an effect that cannot be there.

A well-calibrated method at 95% finds one about 5% of the time; a much higher rate says its
intervals are too narrow for this city's data, and its real estimate deserves less trust.

>>> from divert.evaluation._synthetic import synthetic_panel
>>> from divert.evaluation.did import difference_in_differences
>>> result = run_placebos(difference_in_differences, synthetic_panel(effect=0.3, seed=1), runs=8)
>>> len(result.runs), result.false_positives
(8, 0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from divert.evaluation.estimate import Estimate
from divert.evaluation.panel import DailyPanel, EvaluationError


@dataclass(frozen=True)
class PlaceboResult:
    runs: list[tuple[pd.Timestamp, Estimate]]
    skipped: int = 0

    @property
    def false_positives(self) -> int:
        return sum(e.significant for _, e in self.runs)

    @property
    def false_positive_rate(self) -> float:
        return self.false_positives / len(self.runs) if self.runs else float("nan")


def placebo_starts(panel: DailyPanel, *, runs: int = 20, min_pre: int = 30, min_post: int = 20) -> list[pd.Timestamp]:
    """Up to ``runs`` fake start dates among the observed days before the real start, each with
    at least ``min_pre`` observed days before it and ``min_post`` after it (still before the
    real start), spread evenly; the first observed day of a run of days is preferred, as a real
    program's start would be, when there are enough of them.

    >>> from divert.evaluation._synthetic import synthetic_panel
    >>> [d.strftime("%Y-%m-%d") for d in placebo_starts(synthetic_panel(), runs=3)]
    ['2022-07-01', '2022-11-01', '2023-03-01']
    """
    days = panel.days[panel.days < panel.start]
    if len(days) < min_pre + min_post:
        return []
    candidates = days[min_pre: len(days) - min_post + 1]
    gaps = pd.Series(days).diff().dt.days.fillna(99).to_numpy()
    first_of_run = set(days[gaps > 1])
    preferred = [d for d in candidates if d in first_of_run]
    if len(preferred) < min(runs, len(candidates)):  # too few runs of days: any observed day will do
        preferred = list(candidates)
    if len(preferred) <= runs:
        return list(preferred)
    pick = np.linspace(0, len(preferred) - 1, runs).round().astype(int)
    return [preferred[i] for i in sorted(set(pick))]


def run_placebos(estimator: Callable[[DailyPanel], Estimate], panel: DailyPanel, *, runs: int = 20,
                 min_pre: int = 30, min_post: int = 20) -> PlaceboResult:
    before = panel.before(panel.start)
    out, skipped = [], 0
    for fake in placebo_starts(panel, runs=runs, min_pre=min_pre, min_post=min_post):
        try:
            out.append((fake, estimator(before.with_start(fake))))
        except EvaluationError:
            skipped += 1
    return PlaceboResult(out, skipped)


@dataclass(frozen=True)
class Verdict:
    """Whether the placebo runs support trusting the interval, in words a council can read."""

    trusted: bool
    text: str


def lean(runs: list[tuple[pd.Timestamp, Estimate]]) -> tuple[int, int, float]:
    """(positive, negative, two-sided sign-test p): do the placebo estimates lean one way?

    >>> e = lambda x: Estimate("did", x, 1, x - 1, x + 1, 0.5, 10, 10, 10, pd.Series(dtype=float), pd.Series(dtype=float))
    >>> lean([(pd.Timestamp(0), e(v)) for v in (1, 2, 3, 4, 5, 6, 7)])
    (7, 0, 0.015625)
    """
    from scipy.stats import binomtest

    pos = sum(e.effect > 0 for _, e in runs)
    neg = sum(e.effect < 0 for _, e in runs)
    p = float(binomtest(pos, pos + neg).pvalue) if pos + neg else 1.0
    return pos, neg, p


MIN_RUNS = 10   # fewer placebo runs than this say nothing about a 5% rate


def verdict(result: PlaceboResult, nominal: float = 0.05) -> Verdict:
    """Trust is never claimed from a handful of runs or from runs that all lean one way."""
    n = len(result.runs)
    if n < MIN_RUNS:
        return Verdict(False, f"only {n} placebo start{'s' if n != 1 else ''} fit before the start: too few "
                              f"to show the method's false-positive rate (at least {MIN_RUNS} are needed)")
    pos, neg, p = lean(result.runs)
    rate = result.false_positive_rate
    if p < 0.05:
        return Verdict(False, f"the placebo estimates lean one way ({pos} above zero, {neg} below; sign test "
                              f"p = {p:.2g}): the program's areas were already drifting apart from the method's "
                              "expectation before the start, so the estimate carries that drift")
    if rate <= 2 * nominal:
        return Verdict(True, f"{result.false_positives} of {n} ({rate:.0%}) found a false effect, near the "
                             f"{nominal:.0%} a calibrated method shows, and they do not lean one way "
                             f"({pos} above zero, {neg} below)")
    return Verdict(False, f"{result.false_positives} of {n} ({rate:.0%}) found a false effect, more than the "
                          f"{nominal:.0%} a calibrated method shows: its interval is too narrow for this data")


def pre_trend(panel: DailyPanel) -> tuple[float, float]:
    """The program areas' drift against the untreated areas before the start: the slope of
    log(treated / untreated mean) per year over the pre-period days, and its p-value from a
    permutation of whole months (no normal approximation). (nan, nan) without controls.

    >>> from divert.evaluation._synthetic import synthetic_panel
    >>> slope, p = pre_trend(synthetic_panel(seed=0))
    >>> abs(slope) < 0.1, p > 0.05
    (True, True)
    """
    if panel.n_control < 1:
        return float("nan"), float("nan")
    pre = panel.before(panel.start)
    t, c = pre.treated_total(), pre.control_mean() * max(panel.n_treated, 1)
    ok = (t > 0) & (c > 0)
    if ok.sum() < 10:
        return float("nan"), float("nan")
    y = np.log(t[ok] / c[ok]).to_numpy()
    days = pd.DatetimeIndex(t[ok].index)
    x = ((days - days.min()).days / 365.25).to_numpy()
    months = np.asarray(days.to_period("M").astype(str))
    labels = sorted(set(months))
    if len(labels) < 6:
        return float(np.polyfit(x, y, 1)[0]), float("nan")
    # permute whole months' gaps across the months' positions in time
    rng = np.random.default_rng(0)
    groups = [y[months == m] for m in labels]
    centre = [x[months == m] for m in labels]
    slope = float(np.polyfit(np.concatenate([np.full(len(g), c.mean()) for g, c in zip(groups, centre, strict=True)]),
                             np.concatenate(groups), 1)[0])
    count = 0
    for _ in range(499):
        order = rng.permutation(len(groups))
        yy = np.concatenate([groups[i] for i in order])
        xx = np.concatenate([np.full(len(groups[i]), centre[j].mean()) for j, i in enumerate(order)])
        count += abs(np.polyfit(xx, yy, 1)[0]) >= abs(slope)
    return slope, float((count + 1) / 500)
