"""Inference calibrated on the city's own data: randomisation over areas and dates.

Each method's interval comes from the same estimator run on programs that never existed in
this city: every untreated area as if it had been treated (placebo-in-space), at the real
start and at start dates spread over the whole window (an untreated area is untreated
throughout), and the program's own areas at start dates before the real one; each with as
many days after its start as the program has, where the data allow. Their relative
effects (effect ÷ expected) form the null distribution: how large an 'effect' this city's
ordinary drift, boundary moves and noise produce with this estimator. The interval for the
program is its estimate minus that distribution's central 95% (times the program's own noise), so a method that leans one
way on this city's data is re-centred and one whose areas drift gets a wide interval. No
normal approximation is involved; the order statistics give the 95% bounds, and with too
few placebo programs to reach them the interval is unbounded (said as such).

The minimum detectable effect at 80% power is read from the same distribution: the smallest
relative cut δ with P(δ + null < the lower 2.5% bound) ≥ 80%.

>>> from divert.evaluation._synthetic import synthetic_panel
>>> from divert.evaluation.did import difference_in_differences
>>> p = synthetic_panel(effect=0.3, areas=5)
>>> est = calibrated(difference_in_differences, p)
>>> est.significant, est.details["interval from"].startswith("randomisation")
(True, True)
>>> calibrated(difference_in_differences, synthetic_panel(effect=0.0, areas=5)).significant
False
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from divert.evaluation.estimate import Estimate
from divert.evaluation.panel import DailyPanel, EvaluationError
from divert.evaluation.placebo import placebo_starts

Estimator = Callable[[DailyPanel], Estimate]


def noise(est: Estimate) -> float:
    """The pre-period gap between observed and expected, per day, relative to the expected level
    (root mean square): how noisy this unit is, so large and small areas compare as like.

    >>> s = pd.Series([10.0, 12.0, 8.0, 10.0], index=pd.date_range("2024-01-01", periods=4))
    >>> e = Estimate("x", 0, 0, 0, 0, 1, 10, 2, 2, s, s * 0 + 10)
    >>> round(noise(e), 4)
    0.1414
    """
    observed, counterfactual = est.observed, est.counterfactual
    if observed.index.equals(counterfactual.index):  # every method's own case: no alignment needed
        obs = observed.to_numpy(dtype=float)[: est.pre_days]
        cf = counterfactual.to_numpy(dtype=float)[: est.pre_days]
    else:
        pre = observed.index[: est.pre_days]
        obs = observed.reindex(pre).to_numpy(dtype=float)
        cf = counterfactual.reindex(pre).to_numpy(dtype=float)
    gap = obs - cf
    gap, cf = gap[~np.isnan(gap)], cf[~np.isnan(cf)]
    level = float(cf.mean()) if len(cf) else float("nan")
    if not len(gap) or not level > 0:
        return float("nan")
    return float(np.sqrt((gap ** 2).mean())) / level


@dataclass(frozen=True)
class NullDistribution:
    """Placebo programs: (area or 'program areas', start, relative effect, noise). Intervals are
    read from the studentized effects (relative effect ÷ the unit's own pre-period noise), so a
    small, noisy area's wide swings do not widen a large area's interval, nor the reverse."""

    draws: tuple[tuple[str, pd.Timestamp, float, float], ...]

    @property
    def relative(self) -> np.ndarray:
        return np.array([d[2] for d in self.draws], dtype=float)

    @property
    def studentized(self) -> np.ndarray:
        return np.array([d[2] / d[3] for d in self.draws], dtype=float)

    def __len__(self) -> int:
        return len(self.draws)

    def bounds(self, alpha: float = 0.05) -> tuple[float, float]:
        """The studentized null's lower and upper α/2 order statistics (±inf when too few draws).

        >>> NullDistribution(tuple(("a", pd.Timestamp(0), float(i), 1.0) for i in range(79))).bounds()
        (1.0, 77.0)
        """
        z = np.sort(self.studentized)
        k = int(np.floor((len(z) + 1) * alpha / 2))
        if k < 1:
            return float("-inf"), float("inf")
        return float(z[k - 1]), float(z[len(z) - k])

    def mde(self, scale: float = 1.0, alpha: float = 0.05, power: float = 0.8) -> float:
        """Smallest relative cut (a negative share) detected with ``power`` by a unit whose noise is
        ``scale``; -inf when none can be."""
        lo, _ = self.bounds(alpha)
        if not np.isfinite(lo):
            return float("-inf")
        return float((lo - np.quantile(self.studentized, power)) * scale)


def _as_treated(panel: DailyPanel, area: str) -> DailyPanel:
    """The panel without the real program areas, ``area`` treated instead."""
    data = panel.data[~panel.data["area"].isin(panel.treated)].reset_index(drop=True)
    # other layers' areas overlapping ``area`` are its own calls: no donor for it (those
    # overlapping the real program areas were never kept, see DailyPanel.with_other_layers)
    other, overlap = panel.other_donors, panel.other_overlap
    if other is not None:
        keep = [c for c in other.columns if area not in overlap.get(c, ())]
        other, overlap = other[keep], {c: overlap[c] for c in keep}
    out = replace(panel, data=data, treated=frozenset({area}), treated_override=None, other_donors=other,
                  other_overlap=overlap)
    return panel.carry_views(out, without=panel.treated)


def grid_starts(panel: DailyPanel, count: int) -> list[pd.Timestamp]:
    """Start dates spread over all observed days, each with room before and after."""
    n = len(panel.days)
    end = panel.days.max() + pd.Timedelta(days=1)
    return placebo_starts(panel.with_start(end), runs=count, min_pre=max(10, n // 5), min_post=max(5, n // 10))


def null_distribution(fn: Estimator, panel: DailyPanel, *, starts: int = 12, min_level: float = 1.0) -> NullDistribution:
    """The estimator on placebo programs of this panel (see the module's docstring)."""
    draws: list[tuple[str, pd.Timestamp, float]] = []
    wide = panel.wide()
    pre = wide.index < panel.start
    grid = grid_starts(panel, starts)
    donor_starts = sorted(set(grid) | {panel.start})
    for area in panel.control_areas:
        if wide.loc[pre, area].mean() < min_level:  # too few calls to say anything relative
            continue
        pseudo = _as_treated(panel, area)
        pseudo.treated_total()  # built once here; each window below gets its cut (carry_views)
        for s in donor_starts:
            _draw(fn, _window(pseudo, s, panel.post_days), area, s, draws)
    before = panel.before(panel.start)
    for s in [s for s in grid if s < panel.start]:
        _draw(fn, _window(before, s, panel.post_days), "program areas", s, draws)
    return NullDistribution(tuple(draws))


def _window(panel: DailyPanel, start: pd.Timestamp, post_days: int) -> DailyPanel:
    """The panel started at ``start`` with as many observed days after it as the real program
    has (or all there are): a placebo program of the same design, shifted in time."""
    days = panel.days
    end = int(days.searchsorted(start)) + post_days
    cut = panel.before(days[end]) if end < len(days) else panel
    return cut.with_start(start)


def _draw(fn, panel, label, start, out) -> None:
    try:
        e = fn(panel)
    except (EvaluationError, np.linalg.LinAlgError, ValueError):
        return
    rel, scale = e.relative, noise(e)
    if np.isfinite(rel) and np.isfinite(scale) and scale > 0:
        out.append((label, start, float(rel), scale))


def calibrated(fn: Estimator, panel: DailyPanel, *, alpha: float = 0.05,
               null: NullDistribution | None = None) -> Estimate:
    """The estimate with its interval and p-value from randomisation over areas and dates."""
    est = fn(panel)
    null = null if null is not None else null_distribution(fn, panel)
    lo, hi = null.bounds(alpha)
    rel, base, scale = est.relative, est.baseline, noise(est)
    if not (np.isfinite(scale) and scale > 0):
        raise EvaluationError("the program's areas have no calls before the start to measure their noise")
    z = null.studentized
    n = len(z)
    if n:
        t = rel / scale
        below, above = (1 + (z <= t).sum()) / (n + 1), (1 + (z >= t).sum()) / (n + 1)
        p = float(min(1.0, 2 * min(below, above)))
    else:
        p = 1.0
    ci_low, ci_high = (rel - hi * scale) * base, (rel - lo * scale) * base
    details = dict(est.details)
    if np.isfinite(est.ci_low):
        details["model-based 95% interval (not used)"] = (est.ci_low, est.ci_high)
    details.update({
        "interval from": f"randomisation over {n} placebo programs (areas × dates) in this city's data",
        "placebo programs' middle 95% (relative)": (lo * scale, hi * scale),
        "pre-period noise per day (relative)": scale,
        "minimum detectable cut at 80% power (relative)": null.mde(scale, alpha),
    })
    return replace(est, se=float("nan"), ci_low=float(ci_low), ci_high=float(ci_high), p_value=p,
                   details=details, null=null)


def calibrated_estimator(fn: Estimator, *, alpha: float = 0.05, starts: int = 8) -> Estimator:
    """``fn`` with randomisation intervals, for the placebo-start check (its own null each time)."""
    def run(panel: DailyPanel) -> Estimate:
        return calibrated(fn, panel, alpha=alpha, null=null_distribution(fn, panel, starts=starts))
    run.__name__ = f"calibrated_{fn.__name__}"
    return run
