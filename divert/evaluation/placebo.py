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
    program's start would be.

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
    preferred = [d for d in candidates if d in first_of_run] or list(candidates)
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
