"""A synthetic panel with a known effect, for doctests and unit tests (not real data)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from divert.evaluation.panel import DailyPanel


def synthetic_panel(effect: float = 0.0, *, seed: int = 7, areas: int = 8, months: int = 30,
                    days_per_month: int = 5, level: float = 40.0, start_month: int = 18,
                    overdispersion: float = 0.0) -> DailyPanel:
    """Areas × the first ``days_per_month`` days of each month; area ``A`` is treated from
    month ``start_month`` on and loses ``effect`` (a share, 0.3 = 30%) of its counts.
    Counts are Poisson around area level × weekday pattern × a shared daily shock."""
    rng = np.random.default_rng(seed)
    days = [pd.Timestamp(2022, 1, 1) + pd.DateOffset(months=m) + pd.Timedelta(days=d)
            for m in range(months) for d in range(days_per_month)]
    start = pd.Timestamp(2022, 1, 1) + pd.DateOffset(months=start_month)
    names = [chr(ord("A") + i) for i in range(areas)]
    scale = {a: level * (0.6 + 0.8 * rng.random()) for a in names}
    weekday = np.array([1.0, 0.97, 0.98, 1.0, 1.08, 1.15, 1.05])
    rows = []
    for day in days:
        shock = rng.normal(1.0, 0.05)
        for a in names:
            mu = scale[a] * weekday[day.weekday()] * shock
            if overdispersion:
                mu *= rng.gamma(1 / overdispersion, overdispersion)
            if a == "A" and day >= start:
                mu *= 1 - effect
            rows.append((day, a, float(rng.poisson(mu))))
    frame = pd.DataFrame(rows, columns=["day", "area", "value"])
    return DailyPanel.build(frame, treated=["A"], start=start, outcome="calls",
                            policy_versions=["synthetic-1"])
