"""History: closed windows from stored counts (:func:`closed_windows`) or from a frame of
classified calls (:func:`frame_windows`), a monitor rebuilt from them (:func:`rebuild_from_counts`),
and every alert some settings would have raised over them (:func:`replay_alerts`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from divert.spikes.detector import SpikeDetector
from divert.spikes.monitor import SpikeMonitor
from divert.spikes.settings import CITY_AREA, CITY_LAYER, AlertSettings
from divert.spikes.windows import ORIGIN, ClosedWindow, SeriesKey
from schemas.records import Alert


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
