"""Spike alerts on San Antonio history: both detectors, the power curve, and a second city.

Data: every San Antonio call (first 2–6 days of each month, 2022-11 … 2026-08), classified in
batch by the divert classify core over the adapter (cached as parquet after the first run).
Hours with no call at all (the unsampled days) are gaps, never learned as zeros.

For each detector (``threshold``: k one-hour windows above the bound, issue 7's; ``cusum``: the
sequential negative-binomial test on 15-minute steps), with its block of reference/alerting.yaml:

- false alerts per covered week (after learning) on the unaltered data, by layer, with the alerts
  raised during declared events (reference/events/san_antonio.yaml) counted apart;
- the power curve (divert/spikes/power.py): spikes planted at known times — copies of real
  eligible calls of one series, ``size × normal`` extra calls per hour for 1, 2, 3 hours — recall
  and median minutes from spike start to alert, by layer (city, substation) and size;
- the headline scenarios on their own runs (more spikes each): city-wide +200% and +100% for 2 h.

The default detector is the one meeting more targets; then Milwaukee (3 weeks, district layer) is
run as a second check with the same settings. The last line:
``recall_200_2h=R recall_100_2h=R2 minutes_to_alert_200=M false_per_week=F`` (city-wide, the
default detector; false alerts declared events excluded).

    .venv/bin/python bench/spikes.py [--seeds 1] [--detector cusum|threshold|both] [--no-milwaukee]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import platformdirs

from divert.cli.alerts import classified_frame
from divert.policy import load_policy
from divert.spikes import CITY_LAYER, frame_windows, load_alert_settings, replay_alerts
from divert.spikes.power import DURATIONS, SIZES, false_alerts, format_table, power_curve, smallest_caught

TARGETS = dict(recall_200_2h=0.95, recall_100_2h=0.8, minutes_to_alert_200=45, false_per_week=1.0)


def load(city: str) -> pd.DataFrame:
    cache = platformdirs.user_cache_path("divert") / "bench" / f"{city}-{load_policy().version}.parquet"
    if cache.exists():
        return pd.read_parquet(cache)
    t = time.perf_counter()
    df = classified_frame(city, None)
    cache.parent.mkdir(parents=True, exist_ok=True)
    df.drop(columns=[c for c in ("reasons",) if c in df]).to_parquet(cache, index=False)
    print(f"classified {len(df):,} {city} calls in {time.perf_counter() - t:.0f} s (cached in {cache})")
    return df


def evaluate(df, city: str, settings, *, seeds: int, curve: bool, layers=None) -> dict:
    layers = tuple(layers or settings.layers)
    t = time.perf_counter()
    windows = frame_windows(df, settings, city)
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    alerts, _ = replay_alerts(windows, settings)
    took = time.perf_counter() - t
    fa = false_alerts(alerts, windows, settings)
    print(f"\n[{city} · {settings.detector}] {len(windows):,} windows of {settings.window_minutes} min "
          f"(built in {t_build:.1f} s), detector {len(windows) / took:,.0f} windows/s; "
          + (f"k={settings.k} q={settings.quantile}" if settings.detector == "threshold" else
             f"shift={settings.cusum_shift:g} threshold={settings.cusum_threshold:g} per layer shift "
             f"{dict(settings.layer_cusum_shifts)} threshold {dict(settings.layer_cusum_thresholds)}")
          + f" min_excess={settings.min_excess_calls:g}")
    print(f"  false alerts per covered week ({fa.weeks:.1f} weeks after learning), declared events excluded: "
          + "  ".join(f"{layer} {fa.by_layer[layer] / fa.weeks:.2f}" for layer in settings.layers)
          + "  | during declared events: "
          + "  ".join(f"{layer} {fa.by_layer_in_events[layer] / fa.weeks:.2f} ({fa.by_layer_in_events[layer]})"
                      for layer in settings.layers))
    out = dict(false_per_week=fa.by_layer.get(CITY_LAYER, 0) / fa.weeks if fa.weeks else float("nan"),
               false_all_layers=fa.per_week)
    # headline scenarios: one size per run, so every spike of the run has that size
    for size, key in ((2.0, "200"), (1.0, "100")):
        rows = power_curve(df, settings, city, windows=windows, layers=(CITY_LAYER,), sizes=(size,),
                           durations=(2,), seeds=seeds)
        out[f"recall_{key}_2h"] = rows[0].recall if rows else float("nan")
        out[f"minutes_to_alert_{key}"] = rows[0].minutes_to_alert if rows else float("nan")
        out[f"spikes_{key}"] = rows[0].spikes if rows else 0
    print(f"  city-wide +200%/2 h: recall {out['recall_200_2h']:.2f} ({out['spikes_200']} spikes), median "
          f"{out['minutes_to_alert_200']:.0f} min to alert; +100%/2 h: recall {out['recall_100_2h']:.2f} "
          f"({out['spikes_100']} spikes), {out['minutes_to_alert_100']:.0f} min")
    if curve:
        t = time.perf_counter()
        rows = power_curve(df, settings, city, windows=windows, layers=layers, seeds=seeds)
        print(f"  power curve (recall and median minutes to alert; sizes take turns in each run; "
              f"{time.perf_counter() - t:.0f} s):")
        for line in format_table(rows, SIZES, DURATIONS):
            print("  " + line)
        smallest = smallest_caught(rows, 0.9)
        print("  smallest spike caught at recall 0.9: " + "; ".join(
            f"{layer} {hours} h: {'+' + format(size, '.0%') if size else 'none up to +600%'}"
            for (layer, hours), size in smallest.items()))
    out["met"] = sum(_met(out).values())
    return out


def _met(r: dict) -> dict:
    return dict(recall_200_2h=r["recall_200_2h"] >= TARGETS["recall_200_2h"],
                recall_100_2h=r["recall_100_2h"] >= TARGETS["recall_100_2h"],
                minutes_to_alert_200=r["minutes_to_alert_200"] <= TARGETS["minutes_to_alert_200"],
                false_per_week=r["false_per_week"] <= TARGETS["false_per_week"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--detector", choices=("both", "cusum", "threshold"), default="both")
    ap.add_argument("--no-curve", action="store_true", help="Skip the power curves (headline figures only).")
    ap.add_argument("--no-milwaukee", action="store_true")
    args = ap.parse_args()
    df = load("san_antonio")
    print(f"San Antonio: {len(df):,} classified calls")
    names = ("threshold", "cusum") if args.detector == "both" else (args.detector,)
    results = {}
    for name in names:
        settings = load_alert_settings("san_antonio", detector=name)
        results[name] = evaluate(df, "san_antonio", settings, seeds=args.seeds, curve=not args.no_curve)
    print("\nSan Antonio, city-wide, per route (targets: recall +200%/2 h ≥ 0.95, +100%/2 h ≥ 0.8, "
          "median ≤ 45 min to alert at +200%, ≤ 1 false alert per covered week):")
    for name, r in results.items():
        met = _met(r)
        print(f"  {name:<10} recall +200% {r['recall_200_2h']:.2f}{'' if met['recall_200_2h'] else ' ✗'}  "
              f"+100% {r['recall_100_2h']:.2f}{'' if met['recall_100_2h'] else ' ✗'}  "
              f"minutes {r['minutes_to_alert_200']:.0f}{'' if met['minutes_to_alert_200'] else ' ✗'}  "
              f"false/week {r['false_per_week']:.2f}{'' if met['false_per_week'] else ' ✗'} "
              f"(all layers {r['false_all_layers']:.2f})  → {r['met']}/4 targets")
    default = load_alert_settings("san_antonio").detector
    best = max(results, key=lambda n: (results[n]["met"], results[n]["recall_200_2h"]))
    if len(results) > 1:
        print(f"  the benchmark's choice: {best}; reference/alerting.yaml's default: {default}"
              + ("" if best == default else "  ← change `detector:` in reference/alerting.yaml"))
    if not args.no_milwaukee:
        mke = load("milwaukee")
        for name in names:
            s = load_alert_settings("milwaukee", detector=name)
            # 3 weeks of history: one week of learning so that two are judged
            s = replace(s, min_history_windows=s.windows_for(7 * 24 * 60))
            evaluate(mke, "milwaukee", s, seeds=max(args.seeds, 3), curve=False)
    r = results[default if default in results else names[-1]]
    print(f"recall_200_2h={r['recall_200_2h']:.2f} recall_100_2h={r['recall_100_2h']:.2f} "
          f"minutes_to_alert_200={r['minutes_to_alert_200']:.0f} false_per_week={r['false_per_week']:.2f}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
