"""What volume is normal for one area and route in one hour of the week, learned online.

A window's expected count is ``level × factor(hour of week)``:

- ``level`` is an exponentially weighted mean of the de-seasonalized counts (river's
  ``EWMean``), so it follows slow drifts in a few days of windows;
- ``factor`` is the hour-of-week profile, also an ``EWMean`` per slot, shrunk towards the
  hour-of-day profile (and that towards 1) while a slot has few windows: one hour of the week
  is seen once a week at most, an hour of the day seven times as often;
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
(10.0, 2.0)
>>> model.alpha < 0.01
True
"""

from __future__ import annotations

import math

import numpy as np
from river.stats import EWMean
from scipy import stats

SLOTS = 168  # hours in a week


class SeasonalCounts:
    """Expected count and spread per window for one series (see the module docstring)."""

    def __init__(self, *, level_rate: float = 0.02, season_rate: float = 0.1,
                 dispersion_rate: float = 0.01, shrink: float = 4.0):
        self.shrink = shrink
        self.level = EWMean(level_rate)
        self.week = [EWMean(season_rate) for _ in range(SLOTS)]
        self.day = [EWMean(season_rate / 4) for _ in range(24)]
        self.week_n = [0] * SLOTS
        self.day_n = [0] * 24
        self.windows = 0
        # method of moments for alpha: E[(y-mu)²] = E[mu] + alpha·E[mu²]
        self._sq_error = EWMean(dispersion_rate)
        self._mu = EWMean(dispersion_rate)
        self._mu2 = EWMean(dispersion_rate)

    def factor(self, slot: int) -> float:
        hour = slot % 24
        n_day = self.day_n[hour]
        day = (n_day * self.day[hour].get() + self.shrink) / (n_day + self.shrink) if n_day else 1.0
        n_week = self.week_n[slot]
        if not n_week:
            return day
        return (n_week * self.week[slot].get() + self.shrink * day) / (n_week + self.shrink)

    def expected(self, slot: int) -> float:
        if not self.windows:
            return 0.0
        return max(self.level.get(), 0.0) * self.factor(slot)

    @property
    def alpha(self) -> float:
        mu2 = self._mu2.get()
        if self.windows < 2 or mu2 <= 0:
            return 0.0
        return max(0.0, (self._sq_error.get() - self._mu.get()) / mu2)

    def variance(self, mu: float) -> float:
        return mu + self.alpha * mu * mu

    def learn(self, slot: int, count: float) -> None:
        """Learn one window's (already clipped) count."""
        mu = self.expected(slot)
        if self.windows:
            self._sq_error.update((count - mu) ** 2)
            self._mu.update(mu)
            self._mu2.update(mu * mu)
        f = self.factor(slot)
        self.level.update(count / f if f > 1e-6 else count)
        level = self.level.get()
        if level > 1e-6:
            ratio = count / level
            self.week[slot].update(ratio)
            self.week_n[slot] += 1
            self.day[slot % 24].update(ratio)
            self.day_n[slot % 24] += 1
        self.windows += 1


def nb_quantile(q: float, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """The q-quantile of counts with this mean and variance: negative binomial when the
    variance exceeds the mean, Poisson otherwise.

    >>> nb_quantile(0.99, np.array([4.0, 4.0, 0.0]), np.array([4.0, 12.0, 0.0])).tolist()
    [9.0, 13.0, 0.0]
    """
    mean = np.asarray(mean, dtype=float)
    variance = np.maximum(np.asarray(variance, dtype=float), mean)
    out = np.zeros_like(mean)
    pos = mean > 1e-9
    over = pos & (variance > mean * (1 + 1e-6))
    poisson = pos & ~over
    if poisson.any():
        out[poisson] = stats.poisson.ppf(q, mean[poisson])
    if over.any():
        m, v = mean[over], variance[over]
        n = m * m / (v - m)
        out[over] = stats.nbinom.ppf(q, n, n / (n + m))
    return out


def z_score(observed: float, mean: float, variance: float) -> float:
    """Standard deviations above the expected count (0 when nothing is expected or known)."""
    if variance <= 0:
        return 0.0
    return (observed - mean) / math.sqrt(variance)
