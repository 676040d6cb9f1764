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
    # month starts by calendar arithmetic, days as whole-day offsets: the same days as adding a
    # DateOffset per day, at a fraction of the cost (doctests and tests build hundreds of panels)
    first = pd.date_range(pd.Timestamp(2022, 1, 1), periods=months, freq="MS")
    days = (first.repeat(days_per_month)
            + pd.to_timedelta(np.tile(np.arange(days_per_month), months), unit="D"))
    start = pd.Timestamp(2022, 1, 1) + pd.DateOffset(months=start_month)
    names = [chr(ord("A") + i) for i in range(areas)]
    scale = np.array([level * (0.6 + 0.8 * rng.random()) for _ in names])
    weekday = np.array([1.0, 0.97, 0.98, 1.0, 1.08, 1.15, 1.05])
    cut = np.where(np.array(names) == "A", 1 - effect, 1.0)
    values = []
    for day, wd in zip(days, days.day_of_week, strict=True):
        shock = rng.normal(1.0, 0.05)
        mu = scale * weekday[wd] * shock
        if overdispersion:  # a gamma draw before each area's count: the generator's order kept
            counts = []
            for i in range(areas):
                m = mu[i] * rng.gamma(1 / overdispersion, overdispersion)
                counts.append(rng.poisson(m * cut[i] if day >= start else m))
        else:  # one draw per area in area order: the same stream as drawing them one by one
            counts = rng.poisson(mu * cut if day >= start else mu)
        values.extend(float(c) for c in counts)
    rows = {"day": days.repeat(areas), "area": names * len(days), "value": values}
    frame = pd.DataFrame(rows)
    return DailyPanel.build(frame, treated=["A"], start=start, outcome="calls",
                            policy_versions=["synthetic-1"])
