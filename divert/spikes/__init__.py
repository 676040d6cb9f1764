"""Spike alerts: diversion-eligible volume above what is normal for its area and hour of the week.

The path, all pure (no broker, no database):

1. :class:`EventTimeWindows` counts classified calls into windows by **event time**
   (``received_at``). A window closes when the watermark — the latest event time seen for the
   agency minus an allowed lateness — passes its end, never by the worker's clock, so a replay
   or a lagging consumer closes the same windows as a live feed. When the calls come from
   several partitions, the latest time is the *least* of the partitions' latest times: a
   consumer that reads one partition's backlog before the next must not close windows that
   the other partitions still fill. A window in which the agency
   had no call at all is a gap in the feed (an outage, or history sampled only on some days),
   not a quiet hour: it is never emitted, so nothing learns zeros from it.
2. :class:`SpikeDetector` takes each closed window's counts per series (agency × area layer ×
   area × route) and, per series, compares the observed count with an expected count and its
   negative-binomial spread learned online by hour of the week
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
   resolves. Alerts say what happened in a manager's words (:func:`alert_text`), local times.
3. :class:`SpikeMonitor` wires the two together for the stream agent; the whole monitor
   pickles (:meth:`SpikeMonitor.to_bytes`) and can be rebuilt from stored counts
   (:func:`rebuild_from_counts`), so state survives a restart.

>>> from datetime import datetime, timedelta
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

import os
import pickle
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import yaml

from divert.exceptions import ConfigError
from divert.paths import reference_dir
from divert.seasonal import SeasonalCounts, nb_quantile, z_score
from divert.spikes.events import Calendar, load_calendar
from schemas.records import Alert, ClassifiedCall

DETECTORS = ("threshold", "cusum")
CITY_LAYER, CITY_AREA = "city", "all"  # the whole agency, as in the call_areas table
ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)  # windows align like date_bin/time_bucket (a Monday)


class SeriesKey(NamedTuple):
    layer: str
    area: str
    route: str


@dataclass(frozen=True)
class AlertSettings:
    """How spikes are found; ``reference/alerting.yaml`` holds the defaults and per-city layers."""

    window_minutes: int = 60
    k: int = 2                        # consecutive windows above the bound before an alert
    quantile: float = 0.999           # upper bound: this quantile of the expected count
    resolve_quantile: float = 0.9     # resolve once the count is at or under this quantile ...
    clear_windows: int = 1            # ... for this many consecutive windows
    span_windows: int = 1             # windows summed for the test (1: each window alone)
    min_excess_calls: float = 3.0     # and at least this many calls over the expected count
    clip_quantile: float = 0.99       # learning clips counts to this quantile (and 1 - it)
    min_history_windows: int = 336    # windows a series learns before it may alert
    relearn_after_windows: int = 24   # a firing series resumes learning (clipped) after this
    allowed_lateness_minutes: int = 10
    level_rate: float = 0.02
    season_rate: float = 0.1
    dispersion_rate: float = 0.01
    shrink: float = 4.0
    routes: tuple[str, ...] = ("crisis", "navigator")
    layers: tuple[str, ...] = (CITY_LAYER,)
    timezone: str = "UTC"
    # series (layer × area × route) one agency may hold: area values come from the feed, so a
    # feed (or an attacker) inventing areas must not grow memory and Prometheus labels unbounded
    max_series: int = 2000
    # "threshold": k consecutive windows above the bound; "cusum": a negative-binomial CUSUM of
    # the observed count against the expected one (the sequential test, see module doc)
    detector: str = "threshold"
    cusum_shift: float = 1.0          # the CUSUM tests "expected × (1 + shift)" against "expected"
    cusum_threshold: float = 6.0      # log-likelihood ratio at which it alerts
    # per area layer, a different threshold: ((layer, threshold), ...), a mapping in the YAML
    layer_cusum_thresholds: tuple[tuple[str, float], ...] = ()
    # per area layer, a different rise tested for (small areas can only show large relative rises)
    layer_cusum_shifts: tuple[tuple[str, float], ...] = ()
    resolve_minutes: int = 60         # cusum: the resolve test sums the windows of the last this many minutes
    max_run_minutes: int = 240        # cusum: evidence older than this is dropped (a spike shows within it)
    events: bool = True               # read reference/events/<agency>.yaml (declared events)

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)

    def threshold_for(self, layer: str) -> float:
        return dict(self.layer_cusum_thresholds).get(layer, self.cusum_threshold)

    def shift_for(self, layer: str) -> float:
        return dict(self.layer_cusum_shifts).get(layer, self.cusum_shift)

    def windows_for(self, minutes: float) -> int:
        """How many windows make ``minutes`` (at least one)."""
        return max(1, round(minutes / self.window_minutes))

    def __post_init__(self) -> None:
        problems = []
        if self.window_minutes <= 0 or 10080 % self.window_minutes:
            problems.append(f"window_minutes {self.window_minutes} must divide a week (e.g. 15, 30, 60)")
        for name in ("quantile", "resolve_quantile", "clip_quantile"):
            if not 0.5 <= getattr(self, name) < 1:
                problems.append(f"{name} {getattr(self, name)} must be in [0.5, 1)")
        if self.resolve_quantile > self.quantile:
            problems.append("resolve_quantile must not exceed quantile (hysteresis)")
        for name in ("k", "clear_windows", "span_windows"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        if self.detector not in DETECTORS:
            problems.append(f"detector {self.detector!r} must be one of {', '.join(DETECTORS)}")
        if self.cusum_shift <= 0 or self.cusum_threshold <= 0 or any(
                v <= 0 for _, v in (*self.layer_cusum_thresholds, *self.layer_cusum_shifts)):
            problems.append("cusum_shift and cusum_threshold must be positive")
        if self.resolve_minutes < self.window_minutes or self.max_run_minutes < self.window_minutes:
            problems.append("resolve_minutes and max_run_minutes must be at least window_minutes")
        try:
            ZoneInfo(self.timezone)
        except Exception:
            problems.append(f"unknown time zone {self.timezone!r}")
        if problems:
            raise ConfigError("alert settings: " + "; ".join(problems))

    def model(self) -> SeasonalCounts:
        """The seasonal model of one series. Its rates are per hour of data: a 15-minute window
        learns a quarter as much as an hour does, so the level, the hour-of-week profile (each
        slot now sees four windows a week) and the spread keep the same memory in hours."""
        per = self.window_minutes / 60
        return SeasonalCounts(level_rate=self.level_rate * per, season_rate=self.season_rate * per,
                              dispersion_rate=self.dispersion_rate * per, shrink=self.shrink / per)


_FIELDS = {f.name for f in fields(AlertSettings)}


def load_alert_settings(agency: str, path: Path | None = None, **overrides) -> AlertSettings:
    """The settings for one agency: the file's defaults, the block of the chosen detector under
    ``detectors.<name>``, its ``cities.<agency>`` section, then ``overrides`` (None values
    ignored). The file is ``path``, else ``$DIVERT_ALERT_SETTINGS``, else reference/alerting.yaml.
    The time zone comes from reference/cities/<agency>.yaml.

    >>> s = load_alert_settings("san_antonio", k=3)
    >>> s.k, s.layers, s.timezone, s.detector, s.window_minutes
    (3, ('city', 'substation'), 'America/Chicago', 'cusum', 15)
    >>> load_alert_settings("san_antonio", detector="threshold").window_minutes
    60
    """
    path = Path(path or os.environ.get("DIVERT_ALERT_SETTINGS") or reference_dir() / "alerting.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"alert settings file not found: {path}") from exc
    cities = data.pop("cities", None) or {}
    blocks = data.pop("detectors", None) or {}
    city = cities.get(agency) or {}
    given = {k: v for k, v in overrides.items() if v is not None}
    detector = given.get("detector", city.get("detector", data.get("detector", "threshold")))
    merged = {**data, **(blocks.get(detector) or {}), **city}
    merged.setdefault("timezone", _city_timezone(agency))
    merged.update(given)
    unknown = sorted(set(merged) - _FIELDS)
    if unknown:
        raise ConfigError(f"{path}: unknown alert settings {', '.join(unknown)}")
    for name in ("routes", "layers"):
        if name in merged:
            merged[name] = tuple(merged[name])
    for name in ("layer_cusum_thresholds", "layer_cusum_shifts"):
        if isinstance(merged.get(name), Mapping):
            merged[name] = tuple(sorted((str(k), float(v)) for k, v in merged[name].items()))
    return AlertSettings(**merged)


@lru_cache
def _city_timezone(agency: str) -> str:
    try:
        city = yaml.safe_load((reference_dir() / "cities" / f"{agency}.yaml").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "UTC"
    return (city or {}).get("timezone") or "UTC"


def window_start(t: datetime, window: timedelta) -> datetime:
    """
    >>> window_start(datetime(2024, 5, 1, 13, 47, tzinfo=UTC), timedelta(minutes=15)).isoformat()
    '2024-05-01T13:45:00+00:00'
    """
    return t - (t - ORIGIN) % window


class ClosedWindow(NamedTuple):
    """One closed window of one agency: all calls (coverage) and eligible calls per series."""

    agency: str
    start: datetime
    end: datetime
    calls: int
    counts: Mapping[tuple[str, str, str], int]
    policy_version: str


def series_of(call: ClassifiedCall, layers: Sequence[str], routes: Sequence[str]) -> list[SeriesKey]:
    """The series an eligible call counts in (none for a call that is not eligible)."""
    if not call.eligible or call.route not in routes:
        return []
    areas = call.call.areas
    out = []
    for layer in layers:
        area = CITY_AREA if layer == CITY_LAYER else areas.get(layer)
        if area:
            out.append(SeriesKey(layer, area, call.route))
    return out


# -- live windows by event time ---------------------------------------------------------------
@dataclass
class _Open:
    calls: int = 0
    counts: Counter = field(default_factory=Counter)
    seen: set = field(default_factory=set)  # incident ids: a redelivered call counts once


@dataclass
class _AgencyWindows:
    max_event: datetime | None = None
    partition_max: dict = field(default_factory=dict)
    closed_until: datetime | None = None
    policy_version: str = ""
    open: dict = field(default_factory=dict)


class EventTimeWindows:
    """Counts calls into event-time windows and closes them by watermark (see module doc)."""

    def __init__(self, settings_for):
        self._settings_for = settings_for
        self._agencies: dict[str, _AgencyWindows] = {}
        self.partitions: frozenset[int] = frozenset()  # the input partitions this worker reads
        self.late = Counter()        # per agency: calls older than a closed window (dropped here)
        self.day_only = Counter()    # per agency: calls known only to the day (no hourly window)

    def add(self, calls: Iterable[ClassifiedCall], partition: int | None = None) -> None:
        """Count calls (all read from ``partition`` when the source is partitioned)."""
        for c in calls:
            ev = c.call
            if ev.time_precision != "second":
                self.day_only[ev.agency] += 1
                continue
            s = self._settings_for(ev.agency)
            state = self._agencies.setdefault(ev.agency, _AgencyWindows())
            t = ev.received_at
            if state.closed_until is not None and t < state.closed_until:
                self.late[ev.agency] += 1
                continue
            # a redelivered call still shows how far its partition has come
            if state.max_event is None or t > state.max_event:
                state.max_event = t
            if partition is not None:
                held = state.partition_max.get(partition)
                if held is None or t > held:
                    state.partition_max[partition] = t
            w = state.open.setdefault(window_start(t, s.window), _Open())
            if ev.incident_id in w.seen:
                continue
            w.seen.add(ev.incident_id)
            w.calls += 1
            for key in series_of(c, s.layers, s.routes):
                w.counts[key] += 1
            state.policy_version = c.policy_version

    def close(self) -> list[ClosedWindow]:
        """Every window whose end the agency's watermark has passed, oldest first."""
        out = []
        for agency, state in self._agencies.items():
            latest = self._latest(state)
            if latest is None:
                continue
            s = self._settings_for(agency)
            watermark = latest - timedelta(minutes=s.allowed_lateness_minutes)
            for start in sorted(state.open):
                end = start + s.window
                if end > watermark:
                    break
                w = state.open.pop(start)
                out.append(ClosedWindow(agency, start, end, w.calls, dict(w.counts), state.policy_version))
                state.closed_until = end
        out.sort(key=lambda w: w.start)
        return out

    def _latest(self, state: _AgencyWindows) -> datetime | None:
        if not self.partitions:
            return state.max_event
        held = [state.partition_max.get(p) for p in self.partitions]
        return None if any(t is None for t in held) else min(held)

    def mark_closed(self, agency: str, until: datetime, max_event: datetime | None = None) -> None:
        """After a rebuild: windows before ``until`` are done (their calls came from the database)."""
        state = self._agencies.setdefault(agency, _AgencyWindows())
        state.closed_until = until
        if max_event is not None and (state.max_event is None or max_event > state.max_event):
            state.max_event = max_event
        for start in [s for s in state.open if s < until]:
            del state.open[start]


# -- the detector ----------------------------------------------------------------------------
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


def _duration(minutes: int) -> str:
    """
    >>> _duration(90), _duration(45), _duration(120)
    ('90 minutes', '45 minutes', '2 hours')
    """
    if minutes % 60 == 0 and minutes >= 120:
        return f"{minutes // 60} hours"
    return f"{minutes} minutes"


def alert_text(state: str, key: SeriesKey, observed: float, expected: float, low: float, high: float,
               start: datetime, end: datetime, timezone: str, event: str | None = None) -> str:
    """An alert in a manager's words, times local to the agency.

    >>> t = datetime(2025, 3, 4, 20, 0, tzinfo=UTC)
    >>> alert_text("firing", SeriesKey("substation", "NORTH", "crisis"), 32, 9.2, 3, 17, t,
    ...            t + timedelta(minutes=90), "America/Chicago")
    '+23 crisis-eligible calls in the last 90 minutes in substation NORTH, 9 expected (32 received since 14:00 CST; normal 3–17)'
    """
    tz = ZoneInfo(timezone)
    where = "the whole city" if key.layer == CITY_LAYER else f"{key.layer} {key.area}"
    minutes = int(round((end - start).total_seconds() / 60))
    since = start.astimezone(tz).strftime("%H:%M %Z")
    if start.astimezone(tz).date() != end.astimezone(tz).date():
        since = start.astimezone(tz).strftime("%a %H:%M %Z")
    label = f" during {event}" if event else ""
    if state == "firing":
        extra = int(round(observed - expected))
        return (f"{extra:+d} {key.route}-eligible calls in the last {_duration(minutes)} in {where}, "
                f"{expected:.0f} expected ({observed:.0f} received since {since}; normal {low:.0f}–{high:.0f})"
                f"{label}")
    return (f"{key.route}-eligible calls back to normal in {where}{label}: the spike from {since} lasted "
            f"{_duration(minutes)}, {observed:.0f} calls against {expected:.0f} expected")


# -- the two together, for the stream agent ----------------------------------------------------
class SpikeMonitor:
    """Windows by event time plus the detector: ``observe(calls) -> alerts``. Pickles whole."""

    def __init__(self, settings_for):
        self._settings: dict[str, AlertSettings] = {}
        self._settings_for = settings_for
        self.windows = EventTimeWindows(self.settings_for)
        self.detector = SpikeDetector(_LazySettings(self.settings_for))

    def settings_for(self, agency: str) -> AlertSettings:
        if agency not in self._settings:
            self._settings[agency] = self._settings_for(agency)
        return self._settings[agency]

    def observe(self, calls: Iterable[ClassifiedCall], partition: int | None = None) -> list[Alert]:
        self.windows.add(calls, partition)
        return self.detector.update(self.windows.close())

    @property
    def agencies(self) -> set[str]:
        """Agencies this monitor holds counts or series for."""
        return set(self.windows._agencies) | {k[0] for k in self.detector._series}

    def forget(self, agency: str) -> None:
        """Drop an agency (its counting moved to another worker); it is rebuilt if it comes back."""
        self.windows._agencies.pop(agency, None)
        self.detector.forget(agency)

    def adopt(self, other: SpikeMonitor, agency: str) -> None:
        """Take one agency's whole state (windows, series, settings) from another monitor, e.g.
        one rebuilt from the database for that agency alone."""
        self.forget(agency)
        if agency in other._settings:
            self._settings[agency] = other._settings[agency]
        if agency in other.windows._agencies:
            self.windows._agencies[agency] = other.windows._agencies[agency]
        d, o = self.detector, other.detector
        for k in [k for k in o._series if k[0] == agency]:
            d._series[k] = o._series[k]
        for k in [k for k in o.readings if k[0] == agency]:
            d.readings[k] = o.readings[k]
        if agency in o._last_end:
            d._last_end[agency] = o._last_end[agency]
        if agency in o._calendars:
            d._calendars[agency] = o._calendars[agency]

    def to_bytes(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def from_bytes(data: bytes) -> SpikeMonitor:
        monitor = pickle.loads(data)
        if not isinstance(monitor, SpikeMonitor):
            raise ConfigError("not a saved spike monitor")
        return monitor

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_settings_for"] = None  # a loader function need not pickle: settings are kept
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self._settings_for is None:
            self._settings_for = _saved_settings(self._settings)


class _LazySettings(Mapping):
    def __init__(self, get):
        self._get = get

    def __getitem__(self, agency):
        return self._get(agency)

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0


def _saved_settings(saved: dict[str, AlertSettings]):
    def get(agency: str) -> AlertSettings:
        if agency in saved:
            return saved[agency]
        return load_alert_settings(agency)
    return get


# -- history: counts from a frame or the database, and the rebuild ---------------------------
def closed_windows(agency: str, coverage: Mapping[datetime, int],
                   counts: Iterable[tuple[datetime, str, str, str, int]],
                   policy_version: str = "unknown", window: timedelta | None = None) -> list[ClosedWindow]:
    """Closed windows from stored history: ``coverage`` = calls per window start (all calls),
    ``counts`` = (window start, layer, area, route, eligible calls). Windows with no call are
    gaps and are left out."""
    per: dict[datetime, dict] = {}
    for start, layer, area, route, n in counts:
        per.setdefault(start, {})[SeriesKey(layer, area, route)] = int(n)
    out = []
    for start in sorted(coverage):
        calls = int(coverage[start])
        if calls > 0:
            end = start + window if window else start
            out.append(ClosedWindow(agency, start, end, calls, per.get(start, {}), policy_version))
    return out


def frame_windows(df, settings: AlertSettings, agency: str | None = None) -> list[ClosedWindow]:
    """Closed windows from a frame of classified calls (``divert classify`` output, or the
    calls table): columns agency, received_at, eligible, route, areas, policy_version
    (time_precision optional). The same counting as the live windows, vectorized."""
    import pandas as pd

    if agency is not None:
        df = df[df["agency"] == agency]
    if "time_precision" in df:
        df = df[df["time_precision"] == "second"]
    if df.empty:
        return []
    agency = agency or str(df["agency"].iloc[0])
    t = pd.to_datetime(df["received_at"], utc=True)
    width = pd.Timedelta(minutes=settings.window_minutes)
    starts = pd.Timestamp(ORIGIN) + ((t - pd.Timestamp(ORIGIN)) // width) * width
    coverage = starts.value_counts()
    eligible = df["eligible"].to_numpy(bool) & df["route"].isin(settings.routes).to_numpy()
    parts = []
    for layer in settings.layers:
        if layer == CITY_LAYER:
            area = pd.Series(CITY_AREA, index=df.index)
        else:
            area = df["areas"].map(lambda a, layer=layer: (a or {}).get(layer))
        part = pd.DataFrame({"start": starts, "layer": layer, "area": area, "route": df["route"]})[eligible]
        parts.append(part[part["area"].notna() & (part["area"] != "")])
    grouped = pd.concat(parts).groupby(["start", "layer", "area", "route"]).size()
    counts = ((s.to_pydatetime(), la, ar, ro, n) for (s, la, ar, ro), n in grouped.items())
    version = str(df["policy_version"].iloc[-1]) if "policy_version" in df else "unknown"
    cov = {s.to_pydatetime(): int(n) for s, n in coverage.items()}
    return closed_windows(agency, cov, counts, version, settings.window)


def rebuild_from_counts(windows: Iterable[ClosedWindow], settings_for,
                        alerts: list[Alert] | None = None) -> SpikeMonitor:
    """A monitor whose state is what it would be had it seen these (stored) windows live.

    ``settings_for`` is an :class:`AlertSettings` or a function agency → settings. The alerts
    the history implies are appended to ``alerts`` when given (the caller sends those not yet
    stored: their ids are deterministic); a series still firing at the end stays firing, so
    its resolution is sent when it comes.
    """
    get = settings_for if callable(settings_for) else (lambda _agency: settings_for)
    monitor = SpikeMonitor(get)
    last: dict[str, ClosedWindow] = {}
    for w in sorted(windows, key=lambda w: w.start):
        raised = monitor.detector.update([w])
        if alerts is not None:
            alerts.extend(raised)
        last[w.agency] = w
    for agency, w in last.items():
        monitor.windows.mark_closed(agency, w.end)
    return monitor


def replay_alerts(windows: Iterable[ClosedWindow], settings: AlertSettings) -> tuple[list[Alert], SpikeDetector]:
    """Every alert the settings would have raised over these windows (``divert alerts tune``)."""
    detector = SpikeDetector(settings)
    alerts = detector.update(sorted(windows, key=lambda w: w.start))
    return alerts, detector


def with_overrides(settings: AlertSettings, **overrides) -> AlertSettings:
    return replace(settings, **{k: v for k, v in overrides.items() if v is not None})
