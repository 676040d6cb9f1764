"""Evaluation calibration on real data (San Antonio, Milwaukee): how often each method 'finds'
an effect that cannot be there, and whether a planted −30% change is covered by its interval.

Daily counts are built in memory from the CSVs with the city adapter and the classifier (no
database): per local observed day, per area of every layer, community calls and
diversion-eligible calls still handled by police (the default outcome of `divert evaluate`).

Three checks per method and city, all at 95%:
  placebo starts     the real program areas' panel cut before a fake start, evaluated as if the
                     program had begun then (the report's own placebo check);
  placebo programs   programs that never existed, at random real areas and dates;
  planted −30%       the same random programs with 30% of the treated areas' post-start calls
                     removed (binomial thinning): does the interval cover the planted change?

    .venv/bin/python -m bench.evaluation [--programs 60] [--methods sc,did,its,wdd] [--only before|after|both]

BEFORE: each method's own model-based interval, every area value of the layer compared (what
`divert evaluate` did before issue 21). AFTER: intervals from randomisation over the city's
untreated areas × start dates (divert.evaluation.calibrate), non-geographic area values left out,
areas whose share of the calls steps (a boundary change) refused as programs and left out as
comparisons. Milwaukee has 21 days: no placebo start fits before a program there (n = 0).

The last line: ``placebo_fpr=F planted_coverage=C mde_pct=M method=NAME``: per city the lead is
picked as the report picks it (placebo false-positive rate — the worse of placebo programs and
placebo starts — closest to 5%, then the smaller MDE); F and M are the worst city's, C the
lowest; NAME is the lead, or ``city:method`` pairs when the cities' leads differ.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

CACHE = Path("/tmp/divert-bench-evaluation")
CITIES = {"san_antonio": "substation", "milwaukee": "district"}
OTHER_LAYERS = True   # synthetic control's donors include the other layers' areas (--same-layer-only: not)


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def daily_counts(city: str) -> pd.DataFrame:
    """day, layer, area, calls (community), eligible (community calls eligible for a civilian response, still handled by police): every
    layer of the city, local days; cached under /tmp (the CSVs do not change)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{city}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    from divert.adapters import load_adapter
    from divert.classify import classify_frame
    from divert.crosswalk import load_crosswalk
    from divert.exceptions import InvalidRecord
    from divert.policy import load_policy

    t = time.perf_counter()
    adapter = load_adapter(city)
    rows = []
    for raw in adapter.read_raw():
        try:
            e = adapter.normalize(raw).event
        except InvalidRecord:
            continue
        rows.append((e.initial_type, e.source, e.received_at, e.areas or {}))
    df = pd.DataFrame(rows, columns=["initial_type", "source", "received_at", "areas"])
    _save_overlap(city, df["areas"], list(adapter.mapping.areas))
    out = classify_frame(df, load_crosswalk(city), load_policy())
    local = pd.to_datetime(out["received_at"], utc=True).dt.tz_convert(adapter.mapping.timezone)
    base = pd.DataFrame({"day": local.dt.tz_localize(None).dt.normalize(),
                         "community": (out["source"] != "officer_initiated").to_numpy(),
                         "eligible": ((out["source"] != "officer_initiated")
                                      & out["eligible"].astype(bool)).to_numpy()})
    parts = [base.assign(layer="city", area="all")]
    for layer in adapter.mapping.areas:
        parts.append(base.assign(layer=layer, area=[a.get(layer) for a in out["areas"]]))
    long = pd.concat(parts, ignore_index=True).dropna(subset=["area"])
    counts = (long.groupby(["day", "layer", "area"])
              .agg(calls=("community", "sum"), eligible=("eligible", "sum")).reset_index())
    counts.to_parquet(path)
    say(f"{city}: {len(df):,} calls classified and counted in {time.perf_counter() - t:.0f} s")
    return counts


def _save_overlap(city: str, areas: pd.Series, layers: list[str]) -> None:
    """Calls per (area of one layer, area of another): where each area lies in the other layers."""
    parts = []
    for a in layers:
        for b in layers:
            if a != b:
                pairs = pd.DataFrame({"area": [x.get(a) for x in areas], "other_area": [x.get(b) for x in areas]})
                n = pairs.dropna().value_counts().rename("calls").reset_index()
                parts.append(n.assign(layer=a, other_layer=b))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["area", "other_area", "calls", "layer", "other_layer"])
    frame.to_parquet(CACHE / f"{city}_overlap.parquet")


def area_overlap(city: str) -> pd.DataFrame:
    path = CACHE / f"{city}_overlap.parquet"
    if not path.exists():
        (CACHE / f"{city}.parquet").unlink(missing_ok=True)
        daily_counts(city)
    return pd.read_parquet(path)


# -- panels and programs --------------------------------------------------------------------------

class City:
    """One city's counts for the bench: observed days, one layer's eligible calls per area."""

    def __init__(self, city: str, layer: str):
        from divert.adapters import load_adapter
        from divert.adapters.mapping import non_geographic
        from divert.evaluation.panel import observed_days

        self.city, self.layer = city, layer
        self._broken = None
        self.other_layers = OTHER_LAYERS
        counts = daily_counts(city)
        per_day = counts[counts["layer"] == "city"].set_index("day")["calls"]
        self.days = observed_days(per_day)
        self.frame = counts[(counts["layer"] == layer) & counts["day"].isin(self.days)]
        self.no_place = non_geographic(load_adapter(city).mapping, layer)
        wide = self.frame.pivot_table(index="day", columns="area", values="eligible", aggfunc="sum")
        wide = wide.reindex(self.days).fillna(0)
        # real places with eligible calls on nearly every observed day: where a program could be
        present = (wide > 0).mean()
        self.real_areas = sorted(a for a in wide.columns if a not in self.no_place and present[a] >= 0.9
                                 and wide[a].mean() >= 5)
        # the city's other layers: synthetic control's further donors, with where each lies
        mapping = load_adapter(city).mapping
        others = counts[(counts["layer"] != layer) & (counts["layer"] != "city") & counts["day"].isin(self.days)]
        others = others.loc[np.array([a not in non_geographic(mapping, lay)
                                      for lay, a in zip(others["layer"], others["area"], strict=True)], dtype=bool)]
        self.other_values = pd.DataFrame({"day": others["day"], "area": others["layer"] + ":" + others["area"],
                                          "value": others["eligible"].astype(float)})
        ov = area_overlap(city)
        ov = ov[(ov["other_layer"] == layer) & (ov["layer"] != layer)]
        share = ov["calls"] / ov.groupby(["layer", "area"])["calls"].transform("sum")
        ov = ov[share >= 0.02]
        self.other_overlap = {f"{lay}:{a}": frozenset(g["other_area"])
                              for (lay, a), g in ov.groupby(["layer", "area"])}

    def breaks(self, treated) -> list:
        """Boundary changes of the treated areas' share inside the window (all days here)."""
        from divert.evaluation.boundary import crossing, share_breaks

        calls = self.frame[~self.frame["area"].isin(self.no_place)][["day", "area", "calls"]]
        found = share_breaks(calls.rename(columns={"calls": "value"}), treated)
        return crossing(found, self.days.min(), self.days.max())

    def panel(self, treated, start, *, after: bool, plant: float = 0.0, rng=None):
        """(panel, planted effect per day on the treated total)."""
        from divert.evaluation.boundary import broken_areas
        from divert.evaluation.panel import DailyPanel

        frame = self.frame[["day", "area", "eligible"]].rename(columns={"eligible": "value"})
        planted = 0.0
        if plant:
            hit = frame["area"].isin(treated) & (frame["day"] >= start)
            kept = rng.binomial(frame.loc[hit, "value"].astype(int).to_numpy(), 1 - plant)
            n_post = int((self.days >= start).sum())
            planted = float((kept - frame.loc[hit, "value"].to_numpy()).sum()) / n_post
            frame = frame.copy()
            frame.loc[hit, "value"] = kept.astype(float)
        panel = DailyPanel.build(frame, treated=treated, start=start, outcome="police_calls_eligible",
                                 days=self.days, non_geographic=self.no_place if after else ())
        if after:
            if self._broken is None:
                calls = self.frame[~self.frame["area"].isin(self.no_place)][["day", "area", "calls"]]
                self._broken = broken_areas(calls.rename(columns={"calls": "value"}), self.days.min(),
                                            self.days.max())
            panel = panel.without(self._broken, "its share of the calls steps: a boundary change")
            if self.other_layers and len(self.other_values):
                panel = panel.with_other_layers(self.other_values, self.other_overlap)
        return panel, planted

    def random_programs(self, n: int, rng) -> list[tuple[tuple[str, ...], pd.Timestamp]]:
        k = len(self.days)
        lo, hi = max(10, int(0.3 * k)), k - max(5, int(0.15 * k))
        return [((str(rng.choice(self.real_areas)),), self.days[int(rng.integers(lo, hi))]) for _ in range(n)]

    def late_start(self) -> pd.Timestamp:
        """A start about 70% through the window (the placebo-start check needs a long pre-period)."""
        return self.days[int(0.7 * len(self.days))]


# -- the checks -----------------------------------------------------------------------------------

def run_city(city: str, layer: str, methods: list[str], *, after: bool, programs: int, seed: int = 21) -> dict:
    from divert.evaluation import METHODS
    from divert.evaluation.panel import EvaluationError
    from divert.evaluation.placebo import run_placebos

    c = City(city, layer)
    rng = np.random.default_rng(seed)
    progs = c.random_programs(programs, rng)
    out = {}
    for m in methods:
        fn = METHODS[m]
        t = time.perf_counter()
        fp = n = cov = n_pl = refused = failed = 0
        mdes: list[float] = []
        for treated, start in progs:
            prng = np.random.default_rng(zlib.crc32(f"{treated}{start}".encode()))
            panel, _ = c.panel(treated, start, after=after)
            planted_panel, planted = c.panel(treated, start, after=after, plant=0.3, rng=prng)
            try:
                if after:
                    from divert.evaluation.calibrate import calibrated, null_distribution

                    if c.breaks(treated):
                        refused += 1
                        continue
                    null = null_distribution(fn, panel)
                    est = calibrated(fn, panel, null=null)
                    est_p = calibrated(fn, planted_panel, null=null)
                    mdes.append(est.details["minimum detectable cut at 80% power (relative)"])
                else:
                    est, est_p = fn(panel), fn(planted_panel)
            except EvaluationError:
                continue
            except Exception as exc:  # noqa: BLE001  a method that breaks on real data is counted, not hidden
                failed += 1
                say(f"{city} {m} {treated} {start:%Y-%m-%d}: failed: {type(exc).__name__}: {exc}")
                continue
            n += 1
            fp += est.significant
            n_pl += 1
            cov += est_p.covers(planted)
        # placebo starts: every real area as a program starting late, fake earlier starts
        ps_fp = ps_n = 0
        for area in c.real_areas:
            if after and c.breaks((area,)):
                continue  # the evaluation refuses this area's window (a boundary change): no headline to check
            panel, _ = c.panel((area,), c.late_start(), after=after)
            k = len(panel.days)
            try:
                if after:
                    from divert.evaluation.calibrate import calibrated_estimator

                    res = run_placebos(calibrated_estimator(fn), panel, runs=10,
                                       min_pre=max(10, k // 5), min_post=max(5, k // 10))
                else:
                    res = run_placebos(fn, panel, runs=10)
            except Exception as exc:  # noqa: BLE001
                failed += 1
                say(f"{city} {m} placebo starts {area}: failed: {type(exc).__name__}: {exc}")
                continue
            ps_fp += res.false_positives
            ps_n += len(res.runs)
        out[m] = {"programs_fpr": fp / n if n else float("nan"), "programs": n, "refused": refused, "failed": failed,
                  "planted_coverage": cov / n_pl if n_pl else float("nan"), "planted": n_pl,
                  "starts_fpr": ps_fp / ps_n if ps_n else float("nan"), "starts": ps_n,
                  "mde_pct": float(-np.median(mdes) * 100) if mdes else float("nan"),
                  "seconds": time.perf_counter() - t}
        say(f"{city} {m} {'after' if after else 'before'}: {out[m]}")
    return out


def table(results: dict, label: str) -> None:
    print(f"\n{label}: 95% intervals; placebo FPR nominal 5%; planted −30% coverage nominal 95%")
    print(f"{'city':<13}{'method':<7}{'programs FPR':>14}{'n':>5}{'refused':>8}{'failed':>7}{'starts FPR':>12}{'n':>5}"
          f"{'planted cov':>13}{'n':>5}{'MDE %':>8}")
    for city, per in results.items():
        for m, r in per.items():
            print(f"{city:<13}{m:<7}{r['programs_fpr']:>14.1%}{r['programs']:>5}{r['refused']:>8}{r['failed']:>7}"
                  f"{r['starts_fpr']:>12.1%}{r['starts']:>5}{r['planted_coverage']:>13.1%}{r['planted']:>5}"
                  f"{r['mde_pct']:>8.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", type=int, default=60, help="random placebo programs per city")
    ap.add_argument("--methods", default="")
    ap.add_argument("--only", choices=["before", "after", "both"], default="both")
    ap.add_argument("--same-layer-only", action="store_true",
                    help="synthetic control's donors from the program's layer only")
    ap.add_argument("--cities", default=",".join(CITIES))
    args = ap.parse_args()
    global OTHER_LAYERS
    OTHER_LAYERS = not args.same_layer_only
    for city in [c for c in list(CITIES) if c not in args.cities.split(",")]:
        del CITIES[city]
    before_methods = [m for m in (args.methods.split(",") if args.methods else ["its", "did", "wdd"])
                      if m != "sc"]
    after_methods = args.methods.split(",") if args.methods else ["sc", "did", "its", "wdd"]
    if args.only in ("before", "both"):
        before = {city: run_city(city, layer, before_methods, after=False, programs=args.programs)
                  for city, layer in CITIES.items()}
        table(before, "BEFORE (model-based intervals, every area value compared)")
    if args.only in ("after", "both"):
        after = {city: run_city(city, layer, after_methods, after=True, programs=args.programs)
                 for city, layer in CITIES.items()}
        table(after, "AFTER (randomisation intervals over areas × dates, places only, boundary breaks refused)")
        # the lead per city, as the report picks it: placebo FPR (the worse of placebo programs and
        # placebo starts) closest to 5%, then the smaller MDE; the line gives the worst city's figures
        def worst_fpr(r):
            return max(r["programs_fpr"], np.nan_to_num(r["starts_fpr"]))

        leads = {c: min(after_methods, key=lambda m, c=c: (abs(worst_fpr(after[c][m]) - 0.05), after[c][m]["mde_pct"]))
                 for c in after}
        for c, m in leads.items():
            print(f"lead in {c}: {m} (placebo FPR {worst_fpr(after[c][m]):.1%}, planted coverage "
                  f"{after[c][m]['planted_coverage']:.1%}, MDE {after[c][m]['mde_pct']:.1f}%)")
        fpr = max(worst_fpr(after[c][m]) for c, m in leads.items())
        coverage = min(after[c][m]["planted_coverage"] for c, m in leads.items())
        mde = max(after[c][m]["mde_pct"] for c, m in leads.items())
        names = set(leads.values())
        method = names.pop() if len(names) == 1 else ",".join(f"{c}:{m}" for c, m in leads.items())
        print(f"placebo_fpr={fpr:.3f} planted_coverage={coverage:.3f} mde_pct={mde:.1f} method={method}")


if __name__ == "__main__":
    main()
