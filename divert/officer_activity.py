"""Officer-initiated activity against all police work: counts and unit time, grouped.

Input rows are the groups of the SQL function ``officer_initiated_summary`` (or the same
figures computed from a frame by :func:`summarize_frame`): per group, all calls, the
officer-initiated ones, and unit-minutes on scene where the city records both arrival and
clearance. Shares of unit time are reported only when some calls carry those times; a city
that does not record clearance (Seattle's exports) gets "not recorded", not 0%.

>>> rows = [SummaryRow("TRAFFIC STOP", 10, 10, 0, 0, 0.0, 0.0), SummaryRow("THEFT", 30, 0, 0, 0, 0.0, 0.0)]
>>> s = summarize(rows)
>>> s.officer_initiated, s.calls, round(s.count_share, 2), s.unit_share
(10, 40, 0.25, None)
>>> [(g.group, g.officer_initiated, round(g.share_of_officer_initiated, 2)) for g in s.groups]
[('TRAFFIC STOP', 10, 1.0), ('THEFT', 0, 0.0)]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class SummaryRow:
    group: str
    calls: int
    officer_initiated: int
    calls_timed: int
    officer_initiated_timed: int
    unit_minutes: float
    officer_initiated_unit_minutes: float


@dataclass(frozen=True)
class GroupSummary:
    group: str
    calls: int
    officer_initiated: int
    count_share: float                   # officer-initiated / all calls in the group
    share_of_officer_initiated: float    # the group's part of all officer-initiated events
    unit_minutes: float | None
    unit_share: float | None


@dataclass(frozen=True)
class Summary:
    groups: list[GroupSummary]
    calls: int
    officer_initiated: int
    count_share: float
    unit_minutes: float | None
    officer_initiated_unit_minutes: float | None
    unit_share: float | None
    timed_calls: int


def hour_of_week_label(code: str) -> str:
    """'000' (Monday 00:00) … '167' (Sunday 23:00) as a readable label.

    >>> hour_of_week_label("033")
    'Tue 09:00'
    """
    h = int(code)
    return f"{WEEKDAYS[h // 24]} {h % 24:02d}:00"


def summarize(rows: Iterable[SummaryRow]) -> Summary:
    rows = list(rows)
    calls = sum(r.calls for r in rows)
    oi = sum(r.officer_initiated for r in rows)
    timed = sum(r.calls_timed for r in rows)
    um = sum(r.unit_minutes for r in rows)
    oium = sum(r.officer_initiated_unit_minutes for r in rows)
    groups = [GroupSummary(r.group, r.calls, r.officer_initiated,
                           r.officer_initiated / r.calls if r.calls else 0.0,
                           r.officer_initiated / oi if oi else 0.0,
                           r.officer_initiated_unit_minutes if timed else None,
                           (r.officer_initiated_unit_minutes / r.unit_minutes
                            if timed and r.unit_minutes > 0 else None))
              for r in rows]
    groups.sort(key=lambda g: (-g.officer_initiated, -g.calls, g.group))
    return Summary(groups, calls, oi, oi / calls if calls else 0.0,
                   um if timed else None, oium if timed else None,
                   oium / um if timed and um > 0 else None, timed)


def summarize_frame(calls: pd.DataFrame, by: str, *, layer: str = "beat", tz: str = "UTC") -> list[SummaryRow]:
    """The pure twin of ``officer_initiated_summary`` over a frame of calls (columns source,
    initial_type, received_at, time_precision, arrived_at, cleared_at, units, areas)."""
    df = calls.copy()
    df["oi"] = df["source"] == "officer_initiated"
    arr = pd.to_datetime(df.get("arrived_at"), utc=True)
    clr = pd.to_datetime(df.get("cleared_at"), utc=True)
    minutes = (clr - arr).dt.total_seconds() / 60 * df.get("units", pd.Series(1, index=df.index)).fillna(1)
    df["um"] = minutes.where(clr >= arr)
    if by == "type":
        df["grp"] = df["initial_type"]
    elif by == "area":
        df["grp"] = [a.get(layer) or f"(no {layer})" for a in df["areas"]]
    elif by == "hour":
        local = pd.to_datetime(df["received_at"], utc=True).dt.tz_convert(tz)
        code = (local.dt.day_of_week * 24 + local.dt.hour).map(lambda h: f"{h:03d}")
        df["grp"] = code.where(df["time_precision"] == "second")
    else:
        df["grp"] = "all"
    df = df.dropna(subset=["grp"])
    out = []
    for g, part in df.groupby("grp", sort=True):
        timed = part["um"].notna()
        out.append(SummaryRow(str(g), len(part), int(part["oi"].sum()), int(timed.sum()),
                              int((timed & part["oi"]).sum()), float(part["um"].sum()),
                              float(part.loc[part["oi"], "um"].sum())))
    return out


__all__ = ["SummaryRow", "GroupSummary", "Summary", "summarize", "summarize_frame", "hour_of_week_label"]
