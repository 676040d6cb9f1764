"""Benchmark: area assignment (vectorized vs one point at a time) and the divergence core.

Baseline in the same process: ``AreaIndex.assign`` per point (what the adapter hook does per
record). Prints absolute rates and the vectorized/baseline ratio.

    .venv/bin/python bench/burden.py [points]
"""

from __future__ import annotations

import sys
import time

import numpy as np


def main(n: int = 200_000) -> None:
    from divert.areas import load_area_index
    from divert.divergence import divergence

    index = load_area_index("seattle")
    rng = np.random.default_rng(6)
    lats, lons = rng.uniform(47.50, 47.73, n).round(3), rng.uniform(-122.42, -122.25, n).round(3)
    k = min(n, 20_000)
    t = time.perf_counter()
    for a, o in zip(lats[:k], lons[:k], strict=True):
        index.assign(a, o)
    one = k / (time.perf_counter() - t)
    t = time.perf_counter()
    index.assign_many(lats, lons)
    many = n / (time.perf_counter() - t)
    print(f"area assignment, Seattle beats (54 polygons): one at a time {one:,.0f} points/s; "
          f"vectorized {many:,.0f} points/s ({many / one:.1f}x)")
    areas = [f"a{i}" for i in range(500)]
    e = dict(zip(areas, rng.poisson(50, 500).astype(float), strict=True))
    c = dict(zip(areas, rng.poisson(500, 500).astype(float), strict=True))
    reps = 200
    t = time.perf_counter()
    for _ in range(reps):
        divergence(e, c)
    print(f"divergence core, 500 areas: {reps / (time.perf_counter() - t):,.0f} windows/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
