"""The detectors: :class:`SpikeDetector` takes each closed window's counts per series (agency ×
area layer × area × route) and, per series, compares the observed count with an expected count
and its negative-binomial spread learned online by hour of the week
(:class:`divert.seasonal.SeasonalCounts`). Two detectors (``detector`` in
reference/alerting.yaml; bench/spikes.py compares them):

- ``cusum`` (the default): on 15-minute windows, Page's CUSUM of the log-likelihood ratio of
  the count under "expected × (1 + cusum_shift)" against "expected";
  it fires when the statistic reaches ``cusum_threshold`` (per layer:
  ``layer_cusum_thresholds``) with at least ``min_excess_calls`` extra calls, dated from where
  the evidence began, and resets. Windows of a run that falls back to zero are learned then
  (they were normal); a run that fires is never learned.
- ``threshold``: a series must stay above its bound for ``k`` consecutive windows to fire.

Either way, while firing a series cannot fire again (one spike, one alert) and it resolves once
the count is back under a lower bound (hysteresis). It learns only from windows that are not
alerting, clipped to the model's own quantiles, and never from a declared event
(reference/events/<agency>.yaml, :mod:`divert.spikes.events`), so a spike or a holiday does
not teach it that a spike is normal; an alert raised during a declared event carries its
name. A shift that lasts (``relearn_after_windows``) becomes the new normal and the alert
resolves. Alerts say what happened in a manager's words (:func:`divert.spikes.wording.alert_text`),
local times.

>>> from datetime import UTC, datetime, timedelta
>>> settings = AlertSettings(k=2, min_history_windows=48, window_minutes=60)
>>> detector = SpikeDetector(settings)
>>> start = datetime(2024, 1, 1, tzinfo=UTC)
>>> def window(i, crisis):
...     s = start + timedelta(hours=i)
...     return ClosedWindow("sa", s, s + timedelta(hours=1), 100, {("city", "all", "crisis"): crisis}, "p1")
>>> quiet = [detector.update([window(i, 10)]) for i in range(24 * 7)]
>>> [a.state for a in detector.update([window(168, 40)])]  # one window over the bound: pending
[]
>>> [(a.state, a.observed) for a in detector.update([window(169, 40)])]
[('firing', 40.0)]
>>> detector.update([window(170, 45)])  # still high: the same alert, nothing new
[]
>>> [a.state for a in detector.update([window(171, 10)])]
['resolved']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from divert.seasonal import SeasonalCounts, nb_quantile, z_score
from divert.spikes.events import Calendar, load_calendar
from divert.spikes.settings import AlertSettings
from divert.spikes.windows import ClosedWindow, SeriesKey
from divert.spikes.wording import alert_text
from schemas.records import Alert


class Reading(NamedTuple):
    """The last evaluated window of a series, for gauges and dashboards."""

    window_end: datetime
    observed: float
    expected: float
    upper_bound: float
    score: float
    firing: bool


class AlertFigures(NamedTuple):
    """What a firing alert says, kept up to date while it fires (for gauges and annotations)."""

    start: datetime
    end: datetime
    observed: float
    expected: float
    expected_low: float
    expected_high: float
    event: str | None


@dataclass
class _Series:
    model: SeasonalCounts
    recent: list = field(default_factory=list)   # (count, mu, variance) of the last windows
    streak: int = 0
    streak_start: datetime | None = None
    alert_id: str | None = None
    firing_start: datetime | None = None
    firing_windows: int = 0
    quiet: int = 0
    # cusum: the statistic, the run it has accumulated since it left zero, windows held back
    cusum: float = 0.0
    run_start: datetime | None = None
    run: list = field(default_factory=lambda: [0.0, 0.0, 0.0])   # count, mu, variance summed
    pending: list = field(default_factory=list)  # (slot, count, clip lo, clip hi, …) not learned yet
    steps: list = field(default_factory=list)    # (start, count, mu, variance, llr) of the run
    figures: AlertFigures | None = None


def nb_llr(y: np.ndarray, m0: np.ndarray, m1: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Log-likelihood ratio of counts ``y`` under a negative binomial of mean ``m1`` against one
    of mean ``m0``, both with dispersion ``alpha`` (variance ``m + alpha·m²``; Poisson at 0).

    >>> nb_llr(np.array([4.0]), np.array([2.0]), np.array([4.0]), np.array([0.0])).round(3).tolist()
    [0.773]
    """
    y, m0, m1, alpha = (np.asarray(v, dtype=float) for v in (y, m0, m1, alpha))
    out = np.zeros_like(y)
    ok = m0 > 1e-9
    pois = ok & (alpha <= 1e-9)
    out[pois] = y[pois] * np.log(m1[pois] / m0[pois]) - (m1[pois] - m0[pois])
    nb = ok & ~pois
    if nb.any():
        r = 1.0 / alpha[nb]
        a, b, yy = m0[nb], m1[nb], y[nb]
        out[nb] = yy * (np.log(b / (r + b)) - np.log(a / (r + a))) + r * np.log((r + a) / (r + b))
    return out


class SpikeDetector:
    """Per series: expected count and bound, and the detector the settings name (module doc):
    ``threshold`` (k windows above the bound) or ``cusum`` (a sequential likelihood-ratio test),
    both with hysteresis (one spike, one alert) and neither learning from a spike."""

    def __init__(self, settings: AlertSettings | Mapping[str, AlertSettings], calendars=None):
        self._settings = settings
        self._series: dict[tuple[str, SeriesKey], _Series] = {}
        self._last_end: dict[str, datetime] = {}
        self.readings: dict[tuple[str, SeriesKey], Reading] = {}
        self.series_refused: dict[str, int] = {}  # new series past max_series, per agency
        self._calendars: dict[str, Calendar] = dict(calendars or {})

    def settings_for(self, agency: str) -> AlertSettings:
        s = self._settings
        return s if isinstance(s, AlertSettings) else s[agency]

    def calendar(self, agency: str) -> Calendar:
        if agency not in self._calendars:
            s = self.settings_for(agency)
            self._calendars[agency] = load_calendar(agency, s.timezone) if s.events else Calendar()
        return self._calendars[agency]

    @property
    def firing(self) -> dict[tuple[str, SeriesKey], str]:
        return {k: s.alert_id for k, s in self._series.items() if s.alert_id}

    @property
    def last_window_end(self) -> Mapping[str, datetime]:
        """The end of the last window evaluated, per agency."""
        return self._last_end

    @property
    def figures(self) -> dict[tuple[str, SeriesKey], AlertFigures]:
        """The figures of every alert now firing."""
        return {k: s.figures for k, s in self._series.items() if s.alert_id and s.figures}

    def forget(self, agency: str) -> None:
        """Drop an agency's state (another worker owns its counts now)."""
        for k in [k for k in self._series if k[0] == agency]:
            del self._series[k]
            self.readings.pop(k, None)
        self._last_end.pop(agency, None)

    def update(self, windows: Iterable[ClosedWindow]) -> list[Alert]:
        """Evaluate closed windows (oldest first), learn from the normal ones; return alerts."""
        alerts: list[Alert] = []
        for w in windows:
            alerts.extend(self._window(w))
        return alerts

    def _window(self, w: ClosedWindow) -> list[Alert]:
        s = self.settings_for(w.agency)
        if w.calls <= 0:
            return []  # no call at all: a gap in the feed, not a quiet window
        last = self._last_end.get(w.agency)
        if last is not None and w.start < last:
            return []  # already evaluated (a replayed window)
        gap = last is not None and w.start != last
        self._last_end[w.agency] = w.end
        held = sum(1 for k in self._series if k[0] == w.agency)
        for key in w.counts:
            sk = (w.agency, SeriesKey(*key))
            if sk not in self._series:
                if held >= s.max_series:
                    self.series_refused[w.agency] = self.series_refused.get(w.agency, 0) + 1
                    continue
                self._series[sk] = _Series(s.model())
                held += 1
        keys = [k for k in self._series if k[0] == w.agency]
        if not keys:
            return []
        local = w.start.astimezone(ZoneInfo(s.timezone))
        slot = local.weekday() * 24 + local.hour
        event = self.calendar(w.agency).overlapping(w.start, w.end)
        n = len(keys)
        y, mu, var, alpha = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
        for i, k in enumerate(keys):
            st = self._series[k]
            y[i] = w.counts.get(k[1], 0)
            mu[i] = st.model.expected(slot)
            alpha[i] = st.model.alpha
            var[i] = mu[i] + alpha[i] * mu[i] * mu[i]
            if gap:
                st.recent.clear()
                st.streak, st.streak_start = 0, None
                self._end_run(st, slot, learn=True)
        if s.detector == "cusum":  # one quantile call for the clips and the bounds
            qs = np.repeat([s.clip_quantile, 1 - s.clip_quantile, s.quantile], n)
            clip_hi, clip_lo, bounds = nb_quantile(qs, np.tile(mu, 3), np.tile(var, 3)).reshape(3, n)
            return self._cusum(w, s, keys, slot, event, y, mu, var, alpha, clip_lo, clip_hi, bounds)
        clip_hi = nb_quantile(s.clip_quantile, mu, var)
        clip_lo = nb_quantile(1 - s.clip_quantile, mu, var)
        return self._threshold(w, s, keys, slot, event, y, mu, var, alpha, clip_lo, clip_hi)

    # -- k consecutive windows above the bound ---------------------------------------------------
    def _threshold(self, w, s, keys, slot, event, y, mu, var, alpha, clip_lo, clip_hi) -> list[Alert]:
        n = len(keys)
        span_y, span_mu, span_var = np.empty(n), np.empty(n), np.empty(n)
        for i, k in enumerate(keys):
            st = self._series[k]
            st.recent.append((y[i], mu[i], var[i]))
            del st.recent[:-s.span_windows]
            span_y[i] = sum(r[0] for r in st.recent)
            span_mu[i] = sum(r[1] for r in st.recent)
            span_var[i] = sum(r[2] for r in st.recent)
        bound = nb_quantile(s.quantile, span_mu, span_var)
        low = nb_quantile(1 - s.quantile, span_mu, span_var)
        resolve = nb_quantile(s.resolve_quantile, span_mu, span_var)
        alerts = []
        for i, k in enumerate(keys):
            st = self._series[k]
            ready = st.model.windows >= s.min_history_windows and len(st.recent) == s.span_windows
            score = z_score(span_y[i], span_mu[i], span_var[i])
            over = ready and span_y[i] > bound[i] and span_y[i] - span_mu[i] >= s.min_excess_calls
            learn = event is None  # a declared event is not normal volume either
            if st.alert_id:
                st.firing_windows += 1
                st.quiet = st.quiet + 1 if span_y[i] <= max(resolve[i], span_mu[i] + s.min_excess_calls - 1) else 0
                if st.quiet >= s.clear_windows:
                    alerts.append(self._alert(w, s, k, st, "resolved", span_y[i], span_mu[i], low[i], bound[i],
                                              score, event))
                    st.alert_id, st.firing_start, st.firing_windows, st.quiet, st.figures = None, None, 0, 0, None
                else:
                    learn = learn and st.firing_windows > s.relearn_after_windows
            elif over:
                st.streak += 1
                if st.streak_start is None:
                    st.streak_start = w.start - s.window * (s.span_windows - 1)
                if st.streak >= s.k:
                    st.firing_start = st.streak_start
                    st.alert_id = _alert_id(w.agency, k[1], st.firing_start)
                    st.firing_windows, st.quiet, st.streak, st.streak_start = 0, 0, 0, None
                    st.figures = AlertFigures(st.firing_start, w.end, float(span_y[i]), float(span_mu[i]),
                                              float(low[i]), float(bound[i]), event)
                    alerts.append(self._alert(w, s, k, st, "firing", span_y[i], span_mu[i], low[i], bound[i],
                                              score, event))
                learn = False  # a pending or new spike is not normal volume
            else:
                st.streak, st.streak_start = 0, None
            if learn:
                value = y[i]
                if st.model.windows >= min(24, s.min_history_windows):
                    value = min(max(value, clip_lo[i]), clip_hi[i])
                st.model.learn(slot, float(value))
            self.readings[k] = Reading(w.end, float(span_y[i]), float(span_mu[i]),
                                       float(bound[i]) if ready else float("nan"), score,
                                       st.alert_id is not None)
        return alerts

    # -- the sequential test -----------------------------------------------------------------------
    def _cusum(self, w, s, keys, slot, event, y, mu, var, alpha, clip_lo, clip_hi, bounds) -> list[Alert]:
        """Page's CUSUM of the negative-binomial log-likelihood ratio "expected × (1 + shift)"
        against "expected", per window: S = max(0, S + llr). It alerts when S reaches the threshold
        and the run since S left zero holds at least ``min_excess_calls`` extra calls; the alert
        starts where that run started. Windows of a run are learned only once S falls back to
        zero (they were normal after all); a run that alerts is never learned. While firing, the
        alert resolves once the last ``resolve_minutes`` are back under the resolve quantile."""
        shift = np.array([s.shift_for(k[1].layer) for k in keys])
        llr = nb_llr(y, mu, mu * (1 + shift), alpha)
        max_run = s.windows_for(s.max_run_minutes)
        span = s.windows_for(s.resolve_minutes)
        alerts = []
        for i, k in enumerate(keys):
            st = self._series[k]
            ready = st.model.windows >= s.min_history_windows
            st.recent.append((y[i], mu[i], var[i]))
            del st.recent[:-span]
            item = (slot, float(y[i]), float(clip_lo[i]), float(clip_hi[i]),
                    st.model.windows >= min(24, s.min_history_windows), event is None)
            if st.alert_id:
                st.firing_windows += 1
                ry, rmu, rvar = (sum(r[j] for r in st.recent) for j in range(3))
                resolve = float(nb_quantile(s.resolve_quantile, np.array([rmu]), np.array([rvar]))[0])
                f = st.figures
                st.figures = f._replace(end=w.end, observed=f.observed + float(y[i]),
                                        expected=f.expected + float(mu[i]),
                                        event=f.event or event)
                st.quiet = st.quiet + 1 if len(st.recent) == span and ry <= max(resolve, rmu + s.min_excess_calls - 1) else 0
                if st.quiet >= s.clear_windows:
                    f = st.figures
                    alerts.append(self._alert(w, s, k, st, "resolved", ry, rmu, *_band(s, rmu, rvar),
                                              z_score(ry, rmu, rvar), f.event))
                    st.alert_id, st.firing_start, st.firing_windows, st.quiet, st.figures = None, None, 0, 0, None
                    st.cusum = 0.0
                elif st.firing_windows > s.relearn_after_windows:
                    self._learn(st, item)
                self._reading(w, k, st, ry, rmu, rvar, float("nan"))
                continue
            if not ready:
                self._learn(st, item)
                self._reading(w, k, st, y[i], mu[i], var[i], float("nan"))
                continue
            before = st.cusum
            st.cusum = max(0.0, before + float(llr[i]))
            if st.cusum <= 0.0:
                self._end_run(st, slot, learn=True)
                self._learn(st, item)
                self._reading(w, k, st, y[i], mu[i], var[i], bounds[i])
                continue
            if before <= 0.0:
                st.run_start, st.steps = w.start, []
            st.steps.append((w.start, float(y[i]), float(mu[i]), float(var[i]), float(llr[i])))
            st.pending.append(item)
            if len(st.steps) > max_run:
                self._limit_run(st, max_run)
            st.run = [sum(x[j] for x in st.steps) for j in (1, 2, 3)]
            ry, rmu, rvar = st.run
            if st.cusum >= s.threshold_for(k[1].layer) and ry - rmu >= s.min_excess_calls:
                st.firing_start = st.run_start
                st.alert_id = _alert_id(w.agency, k[1], st.firing_start)
                st.firing_windows, st.quiet = 0, 0
                low, high = _band(s, rmu, rvar)
                run_event = event or self.calendar(w.agency).overlapping(st.run_start, w.end)
                st.figures = AlertFigures(st.run_start, w.end, ry, rmu, low, high, run_event)
                alerts.append(self._alert(w, s, k, st, "firing", ry, rmu, low, high,
                                          z_score(ry, rmu, rvar), run_event))
                st.cusum, st.pending, st.run_start, st.run, st.steps = 0.0, [], None, [0.0, 0.0, 0.0], []  # never learned
            self._reading(w, k, st, y[i], mu[i], var[i], bounds[i])
        return alerts

    @staticmethod
    def _learn(st: _Series, item) -> None:
        slot, value, lo, hi, clip, normal = item
        if not normal:
            return  # inside a declared event
        st.model.learn(slot, min(max(value, lo), hi) if clip else value, raw=value)

    def _end_run(self, st: _Series, slot: int, *, learn: bool) -> None:
        if learn:
            for item in st.pending:
                self._learn(st, item)
        st.pending, st.cusum, st.run_start, st.run, st.steps = [], 0.0, None, [0.0, 0.0, 0.0], []

    def _limit_run(self, st: _Series, max_run: int) -> None:
        """Keep the evidence of the last ``max_run`` windows only: the statistic becomes the best
        sum of log-likelihood ratios over a run starting within them (a window-limited CUSUM), so
        a trickle of calls over days never adds up to a spike. The windows dropped from the front
        of the run were normal after all, and are learned."""
        recent = st.steps[-max_run:]
        best, start, total = 0.0, len(recent), 0.0
        for j in range(len(recent) - 1, -1, -1):
            total += recent[j][4]
            if total > best:
                best, start = total, j
        drop = len(st.steps) - len(recent) + start
        for item in st.pending[:drop]:
            self._learn(st, item)
        st.pending, st.steps = st.pending[drop:], st.steps[drop:]
        st.cusum = best
        st.run_start = st.steps[0][0] if st.steps else None

    def _reading(self, w, k, st: _Series, observed, expected, variance, bound) -> None:
        """Gauges: the last window's figures, or while firing the alert's own (its whole run)."""
        if st.alert_id and st.figures:
            f = st.figures
            observed, expected, bound = f.observed, f.expected, f.expected_high
        self.readings[k] = Reading(w.end, float(observed), float(expected), float(bound),
                                   z_score(float(observed), float(expected), float(variance)),
                                   st.alert_id is not None)

    def _alert(self, w: ClosedWindow, s: AlertSettings, k, st: _Series, state: str, observed, expected,
               low, bound, score, event) -> Alert:
        agency, key = k
        start = st.firing_start
        minutes = int(round((w.end - start).total_seconds() / 60))
        said_obs, said_exp = observed, expected
        if state == "resolved" and st.figures and s.detector == "cusum":  # the spike as a whole
            said_obs, said_exp = st.figures.observed, st.figures.expected
        text = alert_text(state, key, said_obs, said_exp, low, bound, start, w.end, s.timezone, event)
        return Alert(alert_id=st.alert_id, agency=agency, area_layer=key.layer, area=key.area,
                     route=key.route, state=state, window_start=start, window_end=w.end,
                     observed=float(observed), expected=round(float(expected), 3),
                     upper_bound=float(bound), score=round(float(score), 3),
                     policy_version=w.policy_version or "unknown",
                     series=f"{agency}/{key.layer}/{key.area}/{key.route}", window_minutes=minutes,
                     expected_low=float(low), detector=s.detector, event=event, message=text)


def _alert_id(agency: str, key: SeriesKey, start: datetime) -> str:
    return f"{agency}/{key.layer}/{key.area}/{key.route}/{start:%Y%m%dT%H%MZ}"


def _band(s: AlertSettings, mean: float, variance: float) -> tuple[float, float]:
    """The range of normal counts for this expectation: quantiles 1 - q and q."""
    low, high = nb_quantile(np.array([1 - s.quantile, s.quantile]), np.array([mean, mean]),
                            np.array([variance, variance]))
    return float(low), float(high)
