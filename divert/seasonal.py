"""What volume is normal for one area and route in one hour of the week, learned online.

A window's expected count is ``base(hour of week) × drift``:

- ``base`` is the mean count of that hour of the week (a weighted mean per slot that forgets
  slowly), shrunk towards the mean of that hour of the day while the slot has few windows: one
  hour of the week is seen once a week at most, an hour of the day seven times as often;
- ``drift`` is the ratio of two exponentially weighted means (river's ``EWMean``), of recent
  counts and of their bases, so a level that moves is followed within days, long before each
  of the 168 slots has seen it;
- the spread around it is negative-binomial: ``variance = mu + alpha·mu²``, with ``alpha``
  estimated by the method of moments from weighted means of the squared errors, so extra
  noise that a Poisson bound would call a spike widens the bound instead.

The model only learns what it is given: the detector (``divert.spikes``) decides which windows
are normal enough to learn from and clips them first.

>>> model = SeasonalCounts()
>>> for week in range(8):
...     for slot in range(168):
...         model.learn(slot, 10.0 if slot % 24 >= 8 else 2.0)
>>> round(model.expected(12), 1), round(model.expected(3), 1)
(10.0, 2.1)
>>> model.alpha < 0.01
True
"""

from __future__ import annotations

import math

import numpy as np
from river.stats import EWMean
from scipy import special

SLOTS = 168  # hours in a week
ALPHA_PRIOR = 0.05  # added to E[mu²] when estimating alpha (counts of ~0.2 a window and below)
MAX_ALPHA = 4.0


class SeasonalCounts:
    """Expected count and spread per window for one series (see the module docstring)."""

    def __init__(self, *, level_rate: float = 0.02, season_rate: float = 0.1,
                 dispersion_rate: float = 0.01, shrink: float = 4.0):
        self.shrink = shrink
        self.week = [_WarmMean(season_rate) for _ in range(SLOTS)]
        self.day = [_WarmMean(season_rate / 7) for _ in range(24)]
        self.all = _WarmMean(season_rate / 168)
        self._recent = EWMean(level_rate)
        self._recent_base = EWMean(level_rate)
        self.windows = 0
        # method of moments for alpha: E[(y-mu)²] = E[mu] + alpha·E[mu²]
        self._sq_error = EWMean(dispersion_rate)
        self._mu = EWMean(dispersion_rate)
        self._mu2 = EWMean(dispersion_rate)

    def base(self, slot: int) -> float:
        day, week, m = self.day[slot % 24], self.week[slot], self.shrink
        day_mean = (day.n * day.get() + m * self.all.get()) / (day.n + m)
        return (week.n * week.get() + m * day_mean) / (week.n + m)

    @property
    def drift(self) -> float:
        base = self._recent_base.get()
        return self._recent.get() / base if base > 1e-9 else 1.0

    def expected(self, slot: int) -> float:
        if not self.windows:
            return 0.0
        return self.base(slot) * self.drift

    @property
    def alpha(self) -> float:
        mu2 = self._mu2.get()
        if self.windows < 2 or mu2 <= 0:
            return 0.0
        # a series that is nearly always zero has almost no E[mu²] to divide by: regularized
        # and capped, so a few stray calls cannot make its spread explode
        return min(MAX_ALPHA, max(0.0, (self._sq_error.get() - self._mu.get()) / (mu2 + ALPHA_PRIOR)))

    def variance(self, mu: float) -> float:
        return mu + self.alpha * mu * mu

    def learn(self, slot: int, count: float, raw: float | None = None) -> None:
        """Learn one window's (already clipped) count. ``raw``, the count before clipping, feeds
        the spread: clipping it too would keep a bound that starts Poisson from ever seeing the
        extra variance that would widen it."""
        if self.windows:
            mu = self.expected(slot)
            self._sq_error.update(((count if raw is None else raw) - mu) ** 2)
            self._mu.update(mu)
            self._mu2.update(mu * mu)
            self._recent_base.update(self.base(slot))
        else:
            self._recent_base.update(count)
        self._recent.update(count)
        self.week[slot].update(count)
        self.day[slot % 24].update(count)
        self.all.update(count)
        self.windows += 1


class _WarmMean:
    """A plain mean for the first 1/rate values, then exponentially weighted: a slot seen once a
    week must not keep half the weight of its first, noisy, value for months."""

    __slots__ = ("rate", "n", "value")

    def __init__(self, rate: float):
        self.rate, self.n, self.value = rate, 0, 0.0

    def update(self, x: float) -> None:
        self.n += 1
        self.value += (x - self.value) * max(self.rate, 1.0 / self.n)

    def get(self) -> float:
        return self.value

    def __getstate__(self):
        return (self.rate, self.n, self.value)

    def __setstate__(self, state):
        self.rate, self.n, self.value = state


def nb_quantile(q: float, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """The q-quantile of counts with this mean and variance: negative binomial when the
    variance exceeds the mean, Poisson otherwise (``q`` may be an array, broadcast with them).

    >>> nb_quantile(0.99, np.array([4.0, 4.0, 0.0]), np.array([4.0, 12.0, 0.0])).tolist()
    [9.0, 15.0, 0.0]
    """
    q, mean, variance = np.broadcast_arrays(np.asarray(q, dtype=float), np.asarray(mean, dtype=float),
                                            np.asarray(variance, dtype=float))
    variance = np.maximum(variance, mean)
    out = np.zeros_like(mean)
    pos = mean > 1e-9
    over = pos & (variance > mean * (1 + 1e-6))
    poisson = pos & ~over
    if poisson.any():
        out[poisson] = _poisson_ppf(q[poisson], mean[poisson])
    if over.any():
        m, v = mean[over], variance[over]
        n = m * m / (v - m)
        out[over] = _nbinom_ppf(q[over], n, n / (n + m))
    return out


# scipy.stats' own ppf of these two laws, on the special functions it calls (importing scipy.stats
# would add ~50 MB to every worker); 0 < q < 1, as the detector's quantiles are
def _poisson_ppf(q: np.ndarray, mu: np.ndarray) -> np.ndarray:
    vals = np.ceil(special.pdtrik(q, mu))
    below = np.maximum(vals - 1, 0)
    return np.where(special.pdtr(below, mu) >= q, below, vals)


def _nbinom_ppf(q: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    vals = np.ceil(special.nbdtrik(q, n, p))
    below = np.maximum(vals - 1, 0)
    return np.where(special.betainc(n, below + 1, p) >= q, below, vals)


def z_score(observed: float, mean: float, variance: float) -> float:
    """Standard deviations above the expected count (0 when nothing is expected or known)."""
    if variance <= 0:
        return 0.0
    return (observed - mean) / math.sqrt(variance)
