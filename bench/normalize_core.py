"""Benchmark: the San Antonio adapter's normalize over every San Antonio row.

Figures are printed as ratios against a baseline run in the same process: reading the
same CSV rows with ``csv.DictReader`` (the least any ingest must do). Rows are read into
memory first so the normalize figure is the adapter's own cost.

    .venv/bin/python bench/normalize_core.py [--limit N] [--city san_antonio]
"""

from __future__ import annotations

import argparse
import csv
import gc
import gzip
import time

from divert.adapters import load_adapter
from divert.exceptions import InvalidRecord


def read_baseline(paths, limit: int | None) -> tuple[int, float]:
    n = 0
    start = time.perf_counter()
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as f:
            for _ in csv.DictReader(f):
                n += 1
                if limit and n >= limit:
                    return n, time.perf_counter() - start
    return n, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", default="san_antonio")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()

    adapter = load_adapter(args.city)
    paths = adapter.history_files()
    base_rows, base_s = read_baseline(paths, args.limit)

    rows = []
    for raw in adapter.read_raw():
        rows.append(raw)
        if args.limit and len(rows) >= args.limit:
            break
    gc.collect()
    normalize = adapter.normalize
    dead = 0
    start = time.perf_counter()
    for raw in rows:
        try:
            normalize(raw)
        except InvalidRecord:
            dead += 1
    norm_s = time.perf_counter() - start

    base_rate, norm_rate = base_rows / base_s, len(rows) / norm_s
    print(f"city                     {args.city}")
    print(f"baseline csv.DictReader  {base_rows:,} rows in {base_s:.2f} s = {base_rate:,.0f} rows/s")
    print(f"normalize (in memory)    {len(rows):,} rows in {norm_s:.2f} s = {norm_rate:,.0f} rows/s"
          f"  ({dead:,} dead letters)")
    print(f"normalize / read         {norm_s / base_s:.2f}x the time of reading the rows "
          f"(read + normalize ≈ {len(rows) / (base_s + norm_s):,.0f} rows/s)")


if __name__ == "__main__":
    main()
