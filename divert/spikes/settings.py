"""Spike alert settings: :class:`AlertSettings`, and one agency's settings loaded from
``reference/alerting.yaml`` (:func:`load_alert_settings`), its time zone from
``reference/cities/<agency>.yaml``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from divert import reference
from divert.exceptions import ConfigError
from divert.paths import reference_dir
from divert.seasonal import SeasonalCounts
from schemas.records import CITY_LAYER

DETECTORS = ("threshold", "cusum")
CITY_AREA = "all"  # the whole agency is area "all" of layer CITY_LAYER, as in the call_areas table


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
    The time zone is the city's, from its mapping (:func:`divert.reference.city_timezone`).

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
    merged.setdefault("timezone", reference.city_timezone(agency) or "UTC")
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
