"""Before/after evaluation of a program (a crisis team, a navigator service).

    panel.py     the outcome per area per observed day (sampled cities: per observed day)
    its.py       interrupted time series (segmented regression, HAC errors, weekday cycle)
    did.py       difference-in-differences, program areas vs the rest, two-way fixed effects
    wdd.py       Ratcliffe's weighted displacement difference, with its variance
    synth.py     synthetic control: a weighted combination of untreated areas, fitted before the start
    calibrate.py intervals by randomisation over areas and dates of the city's own data; MDE
    placebo.py   fake start dates before the real one: how often does the method 'find' an effect;
                 whether the placebo runs lean one way; the pre-period trend against the other areas
    boundary.py  boundary changes: the program areas' share of calls stepping when areas are redrawn
    compare.py   every method, calibrated, and the lead: placebo false-positive rate closest to 5%
    report.py    a self-contained HTML report with a plain-language summary
    outcomes.py  what can be evaluated, and how it is counted

Pure: pandas/statsmodels in, numbers and HTML out; the CLI reads the database.
"""

from __future__ import annotations

from collections.abc import Iterable

from divert.evaluation.did import difference_in_differences
from divert.evaluation.estimate import METHOD_NAMES, Estimate
from divert.evaluation.its import interrupted_time_series
from divert.evaluation.panel import DailyPanel, EvaluationError, observed_days
from divert.evaluation.placebo import PlaceboResult, run_placebos
from divert.evaluation.synth import synthetic_control
from divert.evaluation.wdd import weighted_displacement_difference

METHODS = {
    "its": interrupted_time_series,
    "did": difference_in_differences,
    "wdd": weighted_displacement_difference,
    "sc": synthetic_control,
}


def estimator(method: str, *, displacement: Iterable[str] = ()):
    if method not in METHODS:
        raise EvaluationError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    if method == "wdd":
        areas = tuple(displacement)

        def wdd(panel):
            return weighted_displacement_difference(panel, displacement=areas)
        return wdd
    return METHODS[method]


def evaluate(panel: DailyPanel, method: str, *, placebo_runs: int = 20,
             displacement: Iterable[str] = ()) -> tuple[Estimate, PlaceboResult]:
    """The estimate on the real start with its interval from randomisation over the city's areas
    and dates, and the placebo runs (the same calibrated method) on fake earlier starts.

    >>> from divert.evaluation._synthetic import synthetic_panel
    >>> est, placebo = evaluate(synthetic_panel(effect=0.3, areas=5), "did", placebo_runs=5)
    >>> est.significant, len(placebo.runs)
    (True, 5)
    """
    from divert.evaluation.calibrate import calibrated, calibrated_estimator

    fn = estimator(method, displacement=displacement)
    n = len(panel.days)
    return calibrated(fn, panel), run_placebos(calibrated_estimator(fn), panel, runs=placebo_runs,
                                                min_pre=max(10, n // 5), min_post=max(5, n // 10))


__all__ = ["DailyPanel", "Estimate", "EvaluationError", "METHODS", "METHOD_NAMES", "PlaceboResult",
           "difference_in_differences", "evaluate", "interrupted_time_series", "observed_days",
           "run_placebos", "synthetic_control", "weighted_displacement_difference"]
