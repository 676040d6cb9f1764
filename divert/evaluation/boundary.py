"""Boundary changes: when the program's areas' share of the layer's calls steps abruptly, or an
area of the layer appears or disappears, the areas were redrawn, and a before/after across that
date measures the new map, not the program.

San Antonio's example: DOWNTOWN appears as a substation in mid-2024 and CENTRAL's share of
the city's calls falls at once; a 'program' in CENTRAL starting near then shows a large false cut.

The test works on monthly shares (the days with data in a month, pooled): at each month it
compares the mean share of the ``window`` months after with the ``window`` months before. A
break is a step of at least ``min_step`` of the share's level and at least ``z`` times the
step's noise, the noise read from the month-to-month differences (median absolute deviation,
so a single step does not inflate it).

>>> days = pd.date_range("2023-01-01", periods=24, freq="MS")
>>> rows = [(d, a, v) for i, d in enumerate(days) for a, v in
...         (("C", 300.0 if i < 12 else 200.0), ("N", 400.0), ("S", 300.0 + 3 * (i % 2)))]
>>> calls = pd.DataFrame(rows, columns=["day", "area", "value"])
>>> [(b.month, b.direction) for b in share_breaks(calls, {"C"})]
[('2024-01', 'fell')]
>>> share_breaks(calls, {"N"})
[]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Break:
    month: str                 # YYYY-MM: the first month at the new level
    day: pd.Timestamp          # its first day with data
    share_before: float
    share_after: float
    appeared: tuple[str, ...] = ()     # areas whose calls begin near the break
    disappeared: tuple[str, ...] = ()  # areas whose calls end near the break

    @property
    def direction(self) -> str:
        return "fell" if self.share_after < self.share_before else "rose"

    def describe(self, areas: str, name=str) -> str:
        """In words; ``name`` turns an area value into its display name."""
        cause = []
        if self.appeared:
            cause.append(f"{', '.join(name(a) for a in self.appeared)} appeared")
        if self.disappeared:
            cause.append(f"{', '.join(name(a) for a in self.disappeared)} disappeared")
        why = f" — at the same time {' and '.join(cause)}" if cause else ""
        return (f"Boundary change: from {self.month} the share of the city's calls in {areas} {self.direction} "
                f"from {self.share_before:.1%} to {self.share_after:.1%} at once{why}. The areas were "
                "redrawn, so a before/after across this date measures the new map, not the program.")


def share_breaks(calls: pd.DataFrame, treated: Iterable[str], *, window: int = 3, min_step: float = 0.20,
                 z: float = 4.0, near_days: int = 62) -> list[Break]:
    """Abrupt steps in the ``treated`` areas' share of all areas' calls (day, area, value rows)."""
    treated = set(treated)
    frame = calls.assign(day=pd.to_datetime(calls["day"]))
    month = frame["day"].dt.to_period("M")
    total = frame.groupby(month)["value"].sum()
    mine = frame[frame["area"].isin(treated)].groupby(month[frame["area"].isin(treated)])["value"].sum()
    share = (mine.reindex(total.index).fillna(0) / total.where(total > 0)).dropna()
    if len(share) < 2 * window:
        return []
    s = share.to_numpy()
    diffs = np.diff(s)
    sigma = 1.4826 * float(np.median(np.abs(diffs - np.median(diffs)))) / np.sqrt(2)
    sigma = max(sigma, 1e-4 * max(float(s.mean()), 1e-9))
    step_sd = sigma * np.sqrt(2 / window)
    found: list[tuple[float, int]] = []
    for i in range(window, len(s) - window + 1):
        before, after = s[i - window:i].mean(), s[i:i + window].mean()
        step = after - before
        level = max(before, after)
        if level > 0 and abs(step) >= min_step * level and abs(step) >= z * step_sd:
            found.append((abs(step) / step_sd, i))
    breaks, taken = [], []
    first_day = frame.groupby(month)["day"].min()
    spans = frame[frame["value"] > 0].groupby("area")["day"].agg(["min", "max"])
    start, end = frame["day"].min(), frame["day"].max()
    for _, i in sorted(found, reverse=True):
        if any(abs(i - j) < window for j in taken):
            continue
        taken.append(i)
        m = share.index[i]
        day = first_day[m]
        near = pd.Timedelta(days=near_days)
        appeared = tuple(a for a, r in spans.iterrows()
                         if r["min"] > start + near and abs(r["min"] - day) <= near)
        gone = tuple(a for a, r in spans.iterrows() if r["max"] < end - near and abs(r["max"] - day) <= near)
        breaks.append(Break(str(m), pd.Timestamp(day), float(s[i - window:i].mean()),
                            float(s[i:i + window].mean()), appeared, gone))
    return sorted(breaks, key=lambda b: b.day)


def crossing(breaks: Iterable[Break], first: pd.Timestamp, last: pd.Timestamp,
             intended: Iterable[pd.Timestamp] = ()) -> list[Break]:
    """The breaks inside the evaluated days, less those the user named as the program itself
    (a break within 31 days of an intended date)."""
    named = [pd.Timestamp(d) for d in intended]
    return [b for b in breaks if first < b.day <= last
            and not any(abs(b.day - d) <= pd.Timedelta(days=31) for d in named)]


def broken_areas(calls: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp, **kw) -> dict[str, list[Break]]:
    """Every area of the layer whose share steps between ``first`` and ``last``: such an area
    is no fair comparison either (its own calls changed for a reason no program explains)."""
    out = {}
    for area in sorted(set(calls["area"])):
        found = crossing(share_breaks(calls, {area}, **kw), first, last)
        if found:
            out[area] = found
    return out
