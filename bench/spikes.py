"""Spike alerts on San Antonio history: recall of planted spikes, false alerts, minutes to alert.

Data: every San Antonio call (first 2–6 days of each month, 2022-11 … 2026-08), classified in
batch by the divert classify core over the adapter (cached as parquet after the first run).
Windows are event-time hours; hours with no call at all (the unsampled days) are gaps, never
learned as zeros.

Planted spikes: copies of real eligible calls of the target series (same route and areas),
placed uniformly inside the spike's hours, adding ``size × normal`` calls per hour, where
normal is that series' mean count in that hour of the week over the whole history (rounded,
at least 1). One spike per sampled stretch of days, once the detector has learned
(min_history_windows), at random hours that are all covered and in which the series normally
has at least 1 call per hour (a team out of service at night has no eligible calls then). A spike is found when an alert of its series (or, for
"any layer", of the city series of its route) fires between its start and k+span windows
after its end; minutes to alert = end of the window that fired − spike start (a live worker
adds the allowed lateness, 10 min).

Baseline, in the same process: the same detector without seasonality (every hour of the week
expected at the series' overall mean). Printed: recall, false alerts per covered week on the
unaltered data, and the ratio to the baseline; detector throughput in windows/s.

    .venv/bin/python bench/spikes.py [--seeds 3] [--k 2] [--quantile 0.999] [--span 1]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import platformdirs

from divert.cli.alerts import classified_frame
from divert.policy import load_policy
from divert.spikes import CITY_AREA, CITY_LAYER, frame_windows, load_alert_settings, replay_alerts

CITY = "san_antonio"


def load() -> pd.DataFrame:
    cache = platformdirs.user_cache_path("divert") / "bench" / f"{CITY}-{load_policy().version}.parquet"
    if cache.exists():
        return pd.read_parquet(cache)
    t = time.perf_counter()
    df = classified_frame(CITY, None)
    cache.parent.mkdir(parents=True, exist_ok=True)
    df.drop(columns=[c for c in ("reasons",) if c in df]).to_parquet(cache, index=False)
    print(f"classified {len(df):,} calls in {time.perf_counter() - t:.0f} s (cached in {cache})")
    return df


def series_frame(df: pd.DataFrame, layer: str) -> pd.DataFrame:
    """Eligible calls with their area in ``layer`` and hour start (UTC)."""
    e = df[df["eligible"]].copy()
    e["area"] = CITY_AREA if layer == CITY_LAYER else e["areas"].map(lambda a: (a or {}).get(layer))
    e["hour"] = pd.to_datetime(e["received_at"], utc=True).dt.floor("h")
    return e[e["area"].notna()]


def normal_per_hour_of_week(e: pd.DataFrame, covered: pd.DatetimeIndex, tz: str) -> pd.Series:
    """Mean eligible calls per covered hour by (area, route, hour of week): the truth a spike
    is sized against."""
    local = covered.tz_convert(tz)
    how = pd.Series(local.day_of_week * 24 + local.hour, index=covered)
    hours_per_slot = how.value_counts()
    counts = e.groupby(["area", "route", "hour"]).size().rename("n").reset_index()
    counts["how"] = counts["hour"].map(how)
    total = counts.groupby(["area", "route", "how"])["n"].sum()
    return total / total.index.get_level_values("how").map(hours_per_slot).to_numpy()


def plant(df, e, normal, covered, *, layer, size, hours, rng, tz, warm_windows, routes=("crisis", "navigator"),
          min_area_calls=2000, min_normal=1.0):
    """Extra rows for one spike per sampled stretch; returns (rows, spikes)."""
    covered_set = set(covered)
    stretches, current = [], [covered[0]]
    for prev, t in zip(covered[:-1], covered[1:], strict=True):
        if t - prev > pd.Timedelta(hours=1):
            stretches.append(current)
            current = []
        current.append(t)
    stretches.append(current)
    warm_until = covered[min(warm_windows, len(covered) - 1)]  # after the detector's learning
    areas = e.groupby("area").size()
    areas = sorted(areas[areas >= min_area_calls].index)
    rows, spikes = [], []
    for stretch in stretches:
        if stretch[0] < warm_until or len(stretch) < hours + 6:
            continue
        def usual(area, route, hour):
            local = hour.tz_convert(tz)
            return normal.get((area, route, local.day_of_week * 24 + local.hour), 0.0)

        for _ in range(200):
            # a covered stretch of hours in which the series normally has calls: a team that is
            # not in service at night has no eligible calls then, and +50% of nothing is nothing
            start = stretch[rng.integers(0, len(stretch) - hours - 3)]
            area, route = areas[rng.integers(len(areas))], routes[rng.integers(len(routes))]
            span = [start + pd.Timedelta(hours=h) for h in range(hours)]
            if all(t in covered_set and usual(area, route, t) >= min_normal for t in span):
                break
        else:
            continue
        pool = e[(e["area"] == area) & (e["route"] == route)]
        added = 0
        for h in range(hours):
            hour = start + pd.Timedelta(hours=h)
            n = max(1, int(round(size * usual(area, route, hour))))
            pick = pool.iloc[rng.integers(0, len(pool), n)].copy()
            pick["received_at"] = hour + pd.to_timedelta(rng.uniform(0, 3600, n), unit="s")
            pick["incident_id"] = [f"planted-{len(spikes)}-{h}-{i}" for i in range(n)]
            rows.append(pick)
            added += n
        spikes.append(dict(layer=layer, area=area, route=route, start=start,
                           end=start + pd.Timedelta(hours=hours), added=added))
    return pd.concat(rows, ignore_index=True), spikes


def merge(base_windows, extra_windows):
    by_start = {w.start: w for w in extra_windows}
    out = []
    for w in base_windows:
        x = by_start.get(w.start)
        if x is None:
            out.append(w)
            continue
        counts = dict(w.counts)
        for key, n in x.counts.items():
            counts[key] = counts.get(key, 0) + n
        out.append(w._replace(calls=w.calls + x.calls, counts=counts))
    return out


def score(alerts, spikes, settings, *, any_layer=False):
    firing = [a for a in alerts if a.state == "firing"]
    slack = timedelta(minutes=settings.window_minutes * (settings.k + settings.span_windows))
    found, delays = 0, []
    for s in spikes:
        start, end = s["start"].to_pydatetime(), s["end"].to_pydatetime()
        hits = [a for a in firing if a.route == s["route"]
                and ((a.area_layer == s["layer"] and a.area == s["area"])
                     or (any_layer and a.area_layer == CITY_LAYER))
                and start <= a.window_end <= end + slack]
        if hits:
            found += 1
            delays.append(min((a.window_end - start).total_seconds() / 60 for a in hits))
    return found / len(spikes), (float(np.median(delays)) if delays else float("nan"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--k", type=int)
    ap.add_argument("--quantile", type=float)
    ap.add_argument("--span", type=int)
    ap.add_argument("--min-excess", type=float)
    args = ap.parse_args()
    settings = load_alert_settings(CITY, k=args.k, quantile=args.quantile, span_windows=args.span,
                                   min_excess_calls=args.min_excess)
    baseline_settings = replace(settings, shrink=1e12)  # no seasonality: every hour at the mean
    df = load()
    t = time.perf_counter()
    windows = frame_windows(df, settings, CITY)
    build = time.perf_counter() - t
    weeks = lambda ws: (len(ws) - settings.min_history_windows) * settings.window_minutes / 10080  # noqa: E731
    covered = pd.DatetimeIndex([pd.Timestamp(w.start) for w in windows])
    print(f"San Antonio: {len(df):,} calls, {len(windows):,} covered hours ({len(windows) / 168:.1f} weeks), "
          f"windows built in {build:.1f} s; settings k={settings.k} q={settings.quantile} "
          f"span={settings.span_windows} min_excess={settings.min_excess_calls:g} window={settings.window_minutes} min")

    print("\nUnaltered data: alerts per covered week (after learning), by layer")
    for name, s in (("seasonal", settings), ("baseline (no seasonality)", baseline_settings)):
        t = time.perf_counter()
        alerts, _ = replay_alerts(windows, s)
        took = time.perf_counter() - t
        firing = [a for a in alerts if a.state == "firing"]
        july4 = [a for a in firing if a.window_start.month == 7 and a.window_start.day in (4, 5)]
        per = {layer: sum(a.area_layer == layer for a in firing) / weeks(windows) for layer in s.layers}
        print(f"  {name:<26} all {len(firing) / weeks(windows):5.2f}/week  "
              + "  ".join(f"{k} {v:.2f}" for k, v in per.items())
              + f"  (of which July 4th–5th: {len(july4)}; without them "
              f"{(len(firing) - len(july4)) / weeks(windows):.2f}/week)  "
              f"detector {len(windows) / took:,.0f} windows/s")
        if name == "seasonal":
            base_rate = len(firing) / weeks(windows)
        else:
            print(f"  ratio seasonal/baseline false alerts: {base_rate / max(len(firing) / weeks(windows), 1e-9):.2f}")

    tz = settings.timezone
    scenarios = [  # (layer, size, hours): the issue's +50% first, then the sizes it takes to be found
        ("city", 0.5, 2), ("city", 0.5, 3), ("city", 1.0, 2), ("city", 2.0, 2), ("city", 3.0, 2),
        ("substation", 0.5, 3), ("substation", 3.0, 2), ("substation", 6.0, 2),
    ]
    print("\nPlanted spikes (eligible calls of one route; size × normal for that series and hour)")
    print(f"  {'layer':<11}{'size':>6}{'hours':>6}{'spikes':>8}{'mean added/h':>14}"
          f"{'recall':>8}{'any layer':>10}{'min to alert':>13}{'baseline':>10}{'ratio':>7}")
    e_by_layer = {layer: series_frame(df, layer) for layer in ("city", "substation")}
    for layer, size, hours in scenarios:
        e = e_by_layer[layer]
        normal = normal_per_hour_of_week(e, covered, tz)
        recalls, any_recalls, delays, base_recalls, total, added = [], [], [], [], 0, 0
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            rows, spikes = plant(df, e, normal, covered, layer=layer, size=size, hours=hours, rng=rng, tz=tz,
                                  warm_windows=settings.min_history_windows + 24)
            planted = merge(windows, frame_windows(rows, settings, CITY))
            for s_name, s in (("seasonal", settings), ("baseline", baseline_settings)):
                alerts, _ = replay_alerts(planted, s)
                r, d = score(alerts, spikes, s)
                if s_name == "seasonal":
                    recalls.append(r)
                    delays.append(d)
                    any_recalls.append(score(alerts, spikes, s, any_layer=True)[0])
                else:
                    base_recalls.append(r)
            total += len(spikes)
            added += sum(s["added"] for s in spikes) / hours
        recall, base = float(np.mean(recalls)), float(np.mean(base_recalls))
        print(f"  {layer:<11}{'+' + format(size, '.0%'):>6}{hours:>6}{total:>8}{added / total:>14.1f}"
              f"{recall:>8.2f}{np.mean(any_recalls):>10.2f}{(np.nanmedian(delays) if not np.isnan(delays).all() else float('nan')):>13.0f}{base:>10.2f}"
              f"{recall / base if base else float('inf'):>7.2f}")


if __name__ == "__main__":
    Path.cwd()
    main()
