"""Batch classification throughput on every San Antonio call (717k rows).

Baseline, in the same process: a bare dict lookup of the call type per row (the least any
classification must do). Printed: calls/s for each path and the ratio to the baseline.
Events are built from the raw file with pandas (not timed); the adapter is not measured here.

    .venv/bin/python bench/classify_batch.py [--rows N]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from divert.classify import Classifier, classify_frame
from divert.crosswalk import load_crosswalk, normalize_type
from divert.paths import shared_data_dir
from divert.policy import load_policy
from schemas.records import CadEvent


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=None)
    args = ap.parse_args()
    path = next((shared_data_dir() / "san_antonio").glob("*.csv.gz"))
    raw = pd.read_csv(path, usecols=["IncidentNumber", "ProblemType", "ResponseDate"],
                      nrows=args.rows)
    df = pd.DataFrame({
        "agency": "san_antonio", "incident_id": raw.IncidentNumber.astype(str), "source": "911",
        "initial_type": raw.ProblemType.astype(str),
        "received_at": pd.to_datetime(raw.ResponseDate, unit="ms", utc=True)})
    n = len(df)
    cw, policy = load_crosswalk("san_antonio"), load_policy()
    events = [CadEvent(agency="san_antonio", incident_id=i, source="911", initial_type=t,
                       received_at=r)
              for i, t, r in zip(df.incident_id, df.initial_type, df.received_at.dt.to_pydatetime(),
                                 strict=True)]

    table = {k: (e.apco_code, policy.route_for(e.apco_code)) for k, e in cw.entries.items()}
    raw_table = {t: table.get(normalize_type(t)) for t in df.initial_type.unique()}
    types = df.initial_type.tolist()
    baseline = best_of(lambda: [raw_table.get(t) for t in types])
    frame = best_of(lambda: classify_frame(df, cw, policy), repeat=2)
    clf = Classifier(cw, policy)
    clf.classify_many(events[:1000])  # warm the decision cache as a running worker would be
    many = best_of(lambda: clf.classify_many(events), repeat=2)

    print(f"San Antonio, {n:,} calls, policy {policy.version}")
    print(f"{'path':<36}{'calls/s':>14}{'× baseline time':>18}")
    for name, secs in [("baseline: dict lookup per row", baseline),
                       ("classify_frame (vectorized)", frame),
                       ("Classifier.classify_many", many)]:
        print(f"{name:<36}{n / secs:>14,.0f}{secs / baseline:>18.1f}")


if __name__ == "__main__":
    main()
