"""The power curve of spike alerting: how big a spike must be, for how long, to be caught.

Used by ``divert alerts tune`` and bench/spikes.py. On a city's real history (classified calls as
a frame), spikes are planted at known times: copies of real eligible calls of the target series
(same route and areas), placed uniformly inside each hour of the spike, adding ``size × normal``
calls per hour, where normal is that series' mean count in that local hour of the week over the
whole history (at least one call). Spikes start on the hour, inside covered stretches (hours with
calls; the unsampled days are gaps), after the detector has learned, in hours in which the series
normally has at least ``min_normal`` calls, and at least ``spacing_hours`` apart; the sizes of
one run take turns, so one replay measures every size. A spike is caught when an alert of its
series fires after its start and at most ``slack`` after its end; minutes to alert = end of the
window that fired − spike start (a live worker adds the allowed lateness). False alerts are the
alerts on the unaltered history, per covered week after learning; alerts raised while a
declared event was on (reference/events/<agency>.yaml) are counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from divert.spikes import CITY_AREA, CITY_LAYER, AlertSettings, ClosedWindow, frame_windows, replay_alerts

SIZES = (0.5, 1.0, 2.0, 3.0, 6.0)
DURATIONS = (1, 2, 3)


@dataclass(frozen=True)
class Spike:
    layer: str
    area: str
    route: str
    start: datetime
    end: datetime
    size: float
    added: int


@dataclass(frozen=True)
class PowerRow:
    layer: str
    size: float
    hours: int
    spikes: int
    added_per_hour: float
    recall: float
    minutes_to_alert: float  # median over the caught spikes


@dataclass(frozen=True)
class FalseAlerts:
    weeks: float
    total: int
    in_events: int
    by_layer: dict
    by_layer_in_events: dict

    @property
    def per_week(self) -> float:
        """Alerts per covered week, declared events excluded."""
        return (self.total - self.in_events) / self.weeks if self.weeks else float("nan")

    @property
    def events_per_week(self) -> float:
        return self.in_events / self.weeks if self.weeks else float("nan")


def eligible_calls(df: pd.DataFrame, layer: str, routes) -> pd.DataFrame:
    """Eligible calls of the watched routes with their area in ``layer`` and hour (UTC)."""
    e = df[df["eligible"].astype(bool) & df["route"].isin(routes)].copy()
    e["area"] = CITY_AREA if layer == CITY_LAYER else e["areas"].map(lambda a: (a or {}).get(layer))
    e["hour"] = pd.to_datetime(e["received_at"], utc=True).dt.floor("h")
    return e[e["area"].notna() & (e["area"] != "")]


def covered_hours(windows: list[ClosedWindow]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(sorted({pd.Timestamp(w.start).floor("h") for w in windows}))


def normal_per_hour_of_week(e: pd.DataFrame, covered: pd.DatetimeIndex, tz: str) -> pd.Series:
    """Mean eligible calls per covered hour by (area, route, local hour of week)."""
    local = covered.tz_convert(tz)
    how = pd.Series(local.day_of_week * 24 + local.hour, index=covered)
    hours_per_slot = how.value_counts()
    counts = e.groupby(["area", "route", "hour"]).size().rename("n").reset_index()
    counts["how"] = counts["hour"].map(how)
    counts = counts[counts["how"].notna()]
    total = counts.groupby(["area", "route", "how"])["n"].sum()
    return total / total.index.get_level_values("how").map(hours_per_slot).to_numpy()


def _stretches(covered: pd.DatetimeIndex) -> list[list]:
    out, current = [], [covered[0]]
    for prev, t in zip(covered[:-1], covered[1:], strict=True):
        if t - prev > pd.Timedelta(hours=1):
            out.append(current)
            current = []
        current.append(t)
    out.append(current)
    return out


def plant(e: pd.DataFrame, normal: pd.Series, covered: pd.DatetimeIndex, *, layer: str, sizes, hours: int,
          rng: np.random.Generator, tz: str, warm_until, routes, min_area_calls: int = 2000,
          min_normal: float = 1.0, spacing_hours: int = 12) -> tuple[pd.DataFrame, list[Spike]]:
    """Extra calls for spikes of ``hours`` hours, sizes taking turns; returns (rows, spikes)."""
    covered_set = set(covered)
    areas = e.groupby("area").size()
    areas = sorted(areas[areas >= min_area_calls].index)
    pools = {key: grp for key, grp in e.groupby(["area", "route"])}

    def usual(area, route, hour):
        local = hour.tz_convert(tz)
        return normal.get((area, route, local.day_of_week * 24 + local.hour), 0.0)

    rows, spikes = [], []
    turn = 0
    for stretch in _stretches(covered):
        if stretch[0] < warm_until or len(stretch) < hours + 6:
            continue
        free_from = 0
        while free_from + hours + 3 <= len(stretch):
            for _ in range(60):
                i = int(rng.integers(free_from, min(len(stretch) - hours - 3, free_from + spacing_hours) + 1))
                start = stretch[i]
                area, route = areas[rng.integers(len(areas))], routes[rng.integers(len(routes))]
                span = [start + pd.Timedelta(hours=h) for h in range(hours)]
                if (area, route) in pools and all(t in covered_set and usual(area, route, t) >= min_normal
                                                  for t in span):
                    break
            else:
                free_from += spacing_hours
                continue
            size = sizes[turn % len(sizes)]
            turn += 1
            pool = pools[(area, route)]
            added = 0
            for h, hour in enumerate(span):
                n = max(1, int(round(size * usual(area, route, hour))))
                pick = pool.iloc[rng.integers(0, len(pool), n)].copy()
                pick["received_at"] = hour + pd.to_timedelta(rng.uniform(0, 3600, n), unit="s")
                pick["incident_id"] = [f"planted-{len(spikes)}-{h}-{j}" for j in range(n)]
                rows.append(pick)
                added += n
            spikes.append(Spike(layer, area, route, start.to_pydatetime(),
                                (start + pd.Timedelta(hours=hours)).to_pydatetime(), size, added))
            free_from = i + hours + spacing_hours
    if not rows:
        return e.iloc[:0], []
    return pd.concat(rows, ignore_index=True), spikes


def merge(base: list[ClosedWindow], extra: list[ClosedWindow]) -> list[ClosedWindow]:
    """The base windows with the extra windows' counts added (extra calls in uncovered windows are
    dropped: a spike is planted in covered hours only)."""
    by_start = {w.start: w for w in extra}
    out = []
    for w in base:
        x = by_start.get(w.start)
        if x is None:
            out.append(w)
            continue
        counts = dict(w.counts)
        for key, n in x.counts.items():
            counts[key] = counts.get(key, 0) + n
        out.append(w._replace(calls=w.calls + x.calls, counts=counts))
    return out


def slack(settings: AlertSettings) -> timedelta:
    """How long after a spike's end an alert still counts as catching it."""
    if getattr(settings, "detector", "threshold") == "cusum":
        return timedelta(minutes=max(60, settings.window_minutes * 2))
    return timedelta(minutes=settings.window_minutes * (settings.k + settings.span_windows))


def caught(alerts, spikes: list[Spike], settings: AlertSettings) -> list[float | None]:
    """Minutes from each spike's start to the first alert of its series that catches it (None: missed)."""
    firing: dict[tuple, list] = {}
    for a in alerts:
        if a.state == "firing":
            firing.setdefault((a.area_layer, a.area, a.route), []).append(a.window_end)
    late = slack(settings)
    out = []
    for s in spikes:
        ends = [t for t in firing.get((s.layer, s.area, s.route), ()) if s.start < t <= s.end + late]
        out.append(min((t - s.start).total_seconds() / 60 for t in ends) if ends else None)
    return out


def false_alerts(alerts, windows: list[ClosedWindow], settings: AlertSettings) -> FalseAlerts:
    """Alerts raised on unaltered history, per covered week after the detector's learning."""
    weeks = max(len(windows) - settings.min_history_windows, 0) * settings.window_minutes / 10080
    firing = [a for a in alerts if a.state == "firing"]
    by_layer = {layer: sum(a.area_layer == layer and not a.event for a in firing) for layer in settings.layers}
    in_events = {layer: sum(a.area_layer == layer and bool(a.event) for a in firing) for layer in settings.layers}
    return FalseAlerts(weeks, len(firing), sum(bool(a.event) for a in firing), by_layer, in_events)


def power_curve(df: pd.DataFrame, settings: AlertSettings, agency: str, *, windows=None, layers=None,
                sizes=SIZES, durations=DURATIONS, seeds: int = 1, progress=None) -> list[PowerRow]:
    """Recall and minutes to alert by layer × spike size × duration (see the module doc)."""
    windows = windows if windows is not None else frame_windows(df, settings, agency)
    covered = covered_hours(windows)
    warm_until = pd.Timestamp(windows[min(settings.min_history_windows, len(windows) - 1)].start) + pd.Timedelta(hours=24)
    rows = []
    for layer in layers or settings.layers:
        e = eligible_calls(df, layer, settings.routes)
        if e.empty:
            continue
        normal = normal_per_hour_of_week(e, covered, settings.timezone)
        results: dict[float, dict[int, list]] = {}
        for hours in durations:
            for seed in range(seeds):
                rng = np.random.default_rng(1000 * seed + hours)
                extra, spikes = plant(e, normal, covered, layer=layer, sizes=sizes, hours=hours, rng=rng,
                                      tz=settings.timezone, warm_until=warm_until, routes=list(settings.routes),
                                      min_area_calls=0 if layer == CITY_LAYER else 2000)
                if not spikes:
                    continue
                planted = merge(windows, frame_windows(extra, settings, agency))
                alerts, _ = replay_alerts(planted, settings)
                for s, minutes in zip(spikes, caught(alerts, spikes, settings), strict=True):
                    results.setdefault(s.size, {}).setdefault(hours, []).append((minutes, s.added / hours))
                if progress:
                    progress(layer, hours, seed)
        for size in sizes:
            for hours in durations:
                got = results.get(size, {}).get(hours, [])
                if not got:
                    continue
                delays = [m for m, _ in got if m is not None]
                rows.append(PowerRow(layer, size, hours, len(got), float(np.mean([a for _, a in got])),
                                     len(delays) / len(got), float(np.median(delays)) if delays else float("nan")))
    return rows


def smallest_caught(rows: list[PowerRow], recall: float = 0.9) -> dict[tuple[str, int], float | None]:
    """Per (layer, hours): the smallest size whose recall reaches ``recall`` (and every larger one's too)."""
    out: dict[tuple[str, int], float | None] = {}
    for key in sorted({(r.layer, r.hours) for r in rows}):
        ordered = sorted((r for r in rows if (r.layer, r.hours) == key), key=lambda r: r.size)
        best = None
        for r in reversed(ordered):
            if r.recall >= recall:
                best = r.size
            else:
                break
        out[key] = best
    return out


def format_table(rows: list[PowerRow], sizes=SIZES, durations=DURATIONS) -> list[str]:
    """Recall (and median minutes to alert) by layer and size, one column per duration."""
    lines = ["  layer        size  " + "".join(f"{f'{h} h: recall  min':>18}" for h in durations)
             + f"{'spikes':>8}{'added/h':>9}"]
    for layer in dict.fromkeys(r.layer for r in rows):
        for size in sizes:
            cells, n, added = [], 0, []
            for h in durations:
                r = next((r for r in rows if (r.layer, r.size, r.hours) == (layer, size, h)), None)
                if r is None:
                    cells.append(f"{'—':>18}")
                    continue
                minutes = "—" if np.isnan(r.minutes_to_alert) else f"{r.minutes_to_alert:.0f}"
                cells.append(f"{r.recall:>12.2f}{minutes:>6}")
                n += r.spikes
                added.append(r.added_per_hour)
            lines.append(f"  {layer:<11}{'+' + format(size, '.0%'):>6}  " + "".join(cells)
                         + f"{n:>8}{np.mean(added) if added else 0:>9.1f}")
    return lines
