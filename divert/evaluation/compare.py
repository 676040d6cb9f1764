"""Every method on one program, each with intervals calibrated on the city's own data, and the
lead: the method whose placebo false-positive rate on this program's pre-period is closest to
the nominal 5% (ties: the smaller minimum detectable effect). The report leads with it.

Boundary changes come first: a step in the program areas' share of the city's calls inside
the evaluated days (see :mod:`divert.evaluation.boundary`) withholds the headline effect,
unless the user named the break as the program itself.

>>> from divert.evaluation._synthetic import synthetic_panel
>>> c = compare(synthetic_panel(effect=0.3, areas=5), methods=("did", "sc"), placebo_runs=4)
>>> c.lead in ("did", "sc"), c.estimate.significant, c.withheld
(True, True, False)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from divert.evaluation.boundary import Break, crossing
from divert.evaluation.calibrate import calibrated, calibrated_estimator, null_distribution
from divert.evaluation.estimate import Estimate
from divert.evaluation.panel import DailyPanel, EvaluationError
from divert.evaluation.placebo import MIN_RUNS, PlaceboResult, pre_trend, run_placebos

NOMINAL = 0.05
DEFAULT_METHODS = ("sc", "did", "its", "wdd")


@dataclass(frozen=True)
class MethodRun:
    estimate: Estimate
    placebo: PlaceboResult

    @property
    def fpr(self) -> float:
        return self.placebo.false_positive_rate

    @property
    def mde(self) -> float:
        """Minimum detectable relative cut at 80% power (a negative share; -inf: none)."""
        return float(self.estimate.details.get("minimum detectable cut at 80% power (relative)", float("-inf")))


@dataclass(frozen=True)
class Comparison:
    runs: dict[str, MethodRun]
    lead: str
    failed: dict[str, str]                 # method -> why it could not run
    breaks: tuple[Break, ...] = ()         # boundary changes inside the evaluated days
    pre_trend: tuple[float, float] = (float("nan"), float("nan"))

    @property
    def estimate(self) -> Estimate:
        return self.runs[self.lead].estimate

    @property
    def placebo(self) -> PlaceboResult:
        return self.runs[self.lead].placebo

    @property
    def withheld(self) -> bool:
        """No headline effect: the evaluated days cross a boundary change."""
        return bool(self.breaks)


def lead_method(runs: dict[str, MethodRun], nominal: float = NOMINAL) -> str:
    """Closest placebo false-positive rate to nominal; methods with too few placebo runs to show a
    rate (under ``placebo.MIN_RUNS``) last; then the smaller minimum detectable effect.

    >>> from types import SimpleNamespace as N
    >>> P = lambda k: N(runs=[None] * k)
    >>> lead_method({"did": N(fpr=0.3, mde=-0.1, placebo=P(20)), "sc": N(fpr=0.06, mde=-0.2, placebo=P(20)),
    ...              "its": N(fpr=0.0, mde=-0.05, placebo=P(6))})
    'sc'
    >>> lead_method({"sc": N(fpr=0.0, mde=-0.2, placebo=P(6)), "its": N(fpr=0.17, mde=-0.7, placebo=P(6))})
    'sc'
    """
    def key(m):
        r = runs[m]
        known = len(r.placebo.runs) >= MIN_RUNS and not math.isnan(r.fpr)
        return (not known, abs(r.fpr - nominal) if known else 0.0, -r.mde if math.isfinite(r.mde) else math.inf)
    return min(runs, key=key)


def compare(panel: DailyPanel, *, methods: Sequence[str] = DEFAULT_METHODS, placebo_runs: int = 20,
            displacement: Iterable[str] = (), breaks: Iterable[Break] = (),
            intended: Iterable[pd.Timestamp] = ()) -> Comparison:
    from divert.evaluation import estimator

    runs, failed = {}, {}
    n = len(panel.days)
    for m in methods:
        fn = estimator(m, displacement=displacement)
        fn.__name__ = getattr(fn, "__name__", m)
        try:
            est = calibrated(fn, panel, null=null_distribution(fn, panel))
        except EvaluationError as exc:
            failed[m] = str(exc)
            continue
        placebo = run_placebos(calibrated_estimator(fn), panel, runs=placebo_runs,
                               min_pre=max(10, n // 5), min_post=max(5, n // 10))
        runs[m] = MethodRun(est, placebo)
    if not runs:
        raise EvaluationError("no method could run: " + "; ".join(f"{m}: {why}" for m, why in failed.items()))
    inside = crossing(breaks, panel.days.min(), panel.days.max(), intended)
    return Comparison(runs, lead_method(runs), failed, tuple(inside), pre_trend(panel))
