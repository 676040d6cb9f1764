"""Shares agreeing, with margins of error, from respondent microdata.

For one item and one area: the respondents who gave a substantive answer (not blank, not a
"don't know" code) form the base; the estimate is the weighted share of them whose answer
counts as agreeing. Its 95% margin of error treats the sample as simple random with the
effective sample size of Kish (1965), ``n_eff = (Σw)² / Σw²`` — the design effect of unequal
weights, ``deff = n / n_eff`` (1 when there are no weights):

    moe = 1.96 · √(p (1 − p) / n_eff)

The weighted share is computed with statsmodels' ``DescrStatsW``; its own standard error
treats weights as frequency counts (n = Σw), which is wrong for survey weights, hence Kish.
An estimate from fewer than ``min_n`` respondents is suppressed, with the reason.

Post-stratification: given the population of each stratum (council district …), every
respondent's weight is scaled so the strata weigh as their populations do.

>>> e = share([5, 4, 2, 9, 1], agree={4, 5}, dont_know={9}, min_n=1)
>>> round(e.estimate, 2), e.n, round(e.n_effective, 1), round(e.moe, 3)
(0.5, 4, 4.0, 0.49)
>>> share([5, 4, 2], agree={4, 5}, min_n=30).suppressed
'fewer than 30 respondents answered (3)'
>>> round(moe_for(0.5, 2477), 4)
0.0197
>>> w = post_stratify(["1", "1", "2"], {"1": 1, "2": 1})
>>> [round(x, 2) for x in w]
[0.75, 0.75, 1.5]
>>> round(kish_effective_n(w), 2)
2.67
"""

from __future__ import annotations

import math
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    estimate: float | None          # share agreeing, 0..1 (None when suppressed)
    moe: float | None               # 95% margin of error, same units
    n: int                          # respondents in the base (substantive answers)
    n_effective: float              # Kish effective n
    dont_know: int                  # respondents answering "don't know" (left out of the base)
    suppressed: str | None = None   # why no estimate is shown

    @property
    def design_effect(self) -> float:
        return self.n / self.n_effective if self.n_effective else math.nan


def kish_effective_n(weights: Sequence[float]) -> float:
    """``(Σw)² / Σw²``: the simple-random sample size with the same precision."""
    w = np.asarray(weights, dtype=float)
    s2 = float((w * w).sum())
    return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0


def moe_for(p: float, n_effective: float) -> float:
    """95% margin of error of a share ``p`` from ``n_effective`` respondents."""
    return Z95 * math.sqrt(max(p * (1 - p), 0.0) / n_effective) if n_effective > 0 else math.nan


def post_stratify(strata: Sequence[str | None], population: Mapping[str, float],
                  base: Sequence[float] | None = None) -> list[float]:
    """Weights making each stratum's weighted share of the sample equal its population share
    (respondents in no listed stratum keep weight 0: they cannot be placed)."""
    base_w = np.ones(len(strata)) if base is None else np.asarray(base, dtype=float)
    total_pop = sum(population.values())
    in_sample: dict[str, float] = {}
    for s, w in zip(strata, base_w, strict=True):
        if s in population:
            in_sample[s] = in_sample.get(s, 0.0) + w
    total_w = sum(in_sample.values())
    factor = {s: (population[s] / total_pop) / (in_sample[s] / total_w) for s in in_sample}
    return [float(w * factor[s]) if s in factor else 0.0 for s, w in zip(strata, base_w, strict=True)]


def share(answers: Sequence[int | None], *, agree: Container[int], dont_know: Container[int] = (),
          weights: Sequence[float] | None = None, min_n: int = 30) -> Estimate:
    """The weighted share agreeing among substantive answers, with its margin of error."""
    from statsmodels.stats.weightstats import DescrStatsW

    w_all = np.ones(len(answers)) if weights is None else np.asarray(weights, dtype=float)
    values, w, dk = [], [], 0
    for a, wi in zip(answers, w_all, strict=True):
        if a is None:
            continue
        if a in dont_know:
            dk += 1
            continue
        if wi <= 0 or not math.isfinite(wi):
            continue
        values.append(1.0 if a in agree else 0.0)
        w.append(wi)
    n = len(values)
    if n < min_n:
        return Estimate(None, None, n, kish_effective_n(w) if w else 0.0, dk,
                        f"fewer than {min_n} respondents answered ({n})")
    p = float(DescrStatsW(np.asarray(values), weights=np.asarray(w)).mean)
    n_eff = kish_effective_n(w)
    return Estimate(p, moe_for(p, n_eff), n, n_eff, dk)


__all__ = ["Estimate", "share", "kish_effective_n", "moe_for", "post_stratify", "Z95"]
