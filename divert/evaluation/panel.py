"""The data every evaluation method reads: one outcome per area per observed day.

Cities that publish a sample of days (San Antonio: the first 2–6 days of each month) are
compared per observed day, never per month: a day is *observed* when the city published
calls for it, and an area with no calls on an observed day counts zero, while unobserved
days are simply absent (never zeros). Days are local days in the agency's time zone.

>>> days = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01", "2024-02-02"])
>>> rows = [(d, a, v) for d in days for a, v in (("A", 10.0), ("B", 4.0), ("C", 6.0))]
>>> frame = pd.DataFrame(rows, columns=["day", "area", "value"])
>>> p = DailyPanel.build(frame, treated=["A"], start="2024-02-01", outcome="calls")
>>> p.treated_total().tolist(), p.control_mean().tolist()
([10.0, 10.0, 10.0, 10.0], [5.0, 5.0, 5.0, 5.0])
>>> p.pre_days, p.post_days, p.n_treated, p.n_control
(2, 2, 1, 2)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

from divert.exceptions import DivertError


class EvaluationError(DivertError):
    """The data cannot support the evaluation asked for (too few days, no control areas...)."""


Kind = Literal["count", "continuous"]


def observed_days(city_calls_per_day: pd.Series, min_share_of_median: float = 0.25) -> pd.DatetimeIndex:
    """The days a city published, from its calls per day: days holding less than a quarter of
    the median day are partial (a stray record, the edge of an export) and left out.

    >>> s = pd.Series([3400, 3500, 1, 3300], index=pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-20", "2024-02-01"]))
    >>> [d.strftime("%m-%d") for d in observed_days(s)]
    ['01-01', '01-02', '02-01']
    """
    s = city_calls_per_day[city_calls_per_day > 0]
    if s.empty:
        return pd.DatetimeIndex([])
    keep = s[s >= min_share_of_median * float(s.median())]
    return pd.DatetimeIndex(sorted(pd.to_datetime(keep.index)))


@dataclass(frozen=True)
class DailyPanel:
    """Outcome per (area, observed day), complete: every area on every observed day."""

    data: pd.DataFrame                     # day, area, value (counts: zero-filled)
    treated: frozenset[str]
    start: pd.Timestamp                    # the first day the program worked
    outcome: str
    kind: Kind = "count"
    # for outcomes that do not add up over areas (a percentile), the treated areas' own series
    treated_override: pd.Series | None = None
    policy_versions: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    # areas left out of the comparison: they have no calls on a long run of observed days at the
    # start or the end of the series (an area created or dissolved by a re-districting)
    excluded: frozenset[str] = frozenset()
    # synthetic control's further donors: areas of the city's other layers (days × "layer:area",
    # the same outcome), each with the areas of this layer its calls lie in (see with_other_layers)
    other_donors: pd.DataFrame | None = None
    other_overlap: dict = field(default_factory=dict)

    @classmethod
    def build(cls, frame: pd.DataFrame, *, treated: Iterable[str], start, outcome: str,
              kind: Kind = "count", days: Iterable | None = None, areas: Iterable[str] | None = None,
              treated_series: pd.Series | None = None, policy_versions: Iterable[str] = (),
              non_geographic: Iterable[str] = ()) -> DailyPanel:
        """Complete ``frame`` (day, area, value) over ``days`` × ``areas`` (default: those present).

        Areas in ``non_geographic`` (the city mapping's dispatch channels, outside-area and
        information lines) are no places: they are dropped, never compared with."""
        no_place = sorted(set(non_geographic) & set(frame["area"]))
        treated = frozenset(treated)
        if treated & set(no_place):
            raise EvaluationError(f"the program's areas {sorted(treated & set(no_place))} are not places "
                                  "(the city mapping lists them under non_geographic)")
        frame = frame[~frame["area"].isin(no_place)]
        frame = frame.assign(day=pd.to_datetime(frame["day"]).dt.tz_localize(None).dt.normalize())
        day_index = pd.DatetimeIndex(sorted(set(pd.to_datetime(list(days)).normalize()))) if days is not None \
            else pd.DatetimeIndex(sorted(frame["day"].unique()))
        all_areas = sorted((set(areas) if areas is not None else set(frame["area"])) - set(no_place))
        grid = pd.MultiIndex.from_product([day_index, all_areas], names=["day", "area"])
        values = frame.groupby(["day", "area"])["value"].sum(min_count=1).reindex(grid)
        if kind == "count":
            values = values.fillna(0.0)
        data = values.rename("value").reset_index()
        missing = treated - set(all_areas)
        if missing:
            raise EvaluationError(f"the program's areas {sorted(missing)} have no calls in this layer "
                                  f"(areas with calls: {', '.join(all_areas[:30])})")
        if treated_series is not None:
            treated_series = treated_series.copy()
            treated_series.index = pd.to_datetime(treated_series.index).tz_localize(None).normalize()
            treated_series = treated_series.reindex(day_index)
        wide = _pivot(data)  # the panel's wide view (below), pivoted once for both
        excluded, notes = _unstable_in(wide, treated)
        if no_place:
            notes = (f"Not places, never compared with: {', '.join(no_place)} (the city mapping's "
                     "non_geographic values).", *notes)
        panel = cls(data=data, treated=treated, start=pd.Timestamp(start).tz_localize(None).normalize(),
                    outcome=outcome, kind=kind, treated_override=treated_series,
                    policy_versions=tuple(sorted(set(policy_versions))), notes=notes, excluded=excluded)
        panel.__dict__["_wide"] = wide
        return panel

    # -- views -----------------------------------------------------------------------------------
    @cached_property
    def days(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(sorted(self.data["day"].unique()))

    @property
    def areas(self) -> list[str]:
        return list(self._areas)

    @cached_property
    def _areas(self) -> tuple[str, ...]:
        return tuple(sorted(self.data["area"].unique()))

    @property
    def control_areas(self) -> list[str]:
        return [a for a in self.areas if a not in self.treated and a not in self.excluded]

    @property
    def n_treated(self) -> int:
        return len(self.treated)

    @property
    def n_control(self) -> int:
        return len(self.control_areas)

    @property
    def pre_days(self) -> int:
        return int((self.days < self.start).sum())

    @property
    def post_days(self) -> int:
        return int((self.days >= self.start).sum())

    def wide(self) -> pd.DataFrame:
        """Days × areas (built once per panel: do not modify it in place)."""
        return self._wide

    @cached_property
    def _wide(self) -> pd.DataFrame:
        return _pivot(self.data)

    def columns(self, areas: Iterable[str]) -> pd.DataFrame:
        """The wide view's columns ``areas``, in that order: ``wide()[list(areas)]``, selected by
        position (by label it costs twice as much, and a calibration selects thousands of times)."""
        position = self._column_of
        return self.wide().iloc[:, [position[a] for a in areas]]

    @cached_property
    def _column_of(self) -> dict[str, int]:
        return {area: i for i, area in enumerate(self.wide().columns)}

    def treated_total(self) -> pd.Series:
        """The treated areas' outcome per day: their sum (counts) or their own series."""
        if self.treated_override is not None:
            return self.treated_override.rename("treated")
        return self._treated_total.copy(deep=False)  # copy-on-write: the cached series stays as it is

    @cached_property
    def _treated_total(self) -> pd.Series:
        w = self.columns(sorted(self.treated))
        return (w.sum(axis=1) if self.kind == "count" else w.mean(axis=1)).rename("treated")

    def control_mean(self) -> pd.Series:
        """The untreated areas' outcome per day, averaged per area."""
        return self.columns(self.control_areas).mean(axis=1).rename("control")

    def is_post(self) -> np.ndarray:
        return np.asarray(self.days >= self.start)

    # -- derived panels --------------------------------------------------------------------------
    def before(self, end: pd.Timestamp) -> DailyPanel:
        """Only the days before ``end`` (the placebo's world: the program never happened)."""
        keep = self.data["day"] < end
        override = None if self.treated_override is None else self.treated_override[self.treated_override.index < end]
        other = None if self.other_donors is None else self.other_donors[self.other_donors.index < end]
        out = replace(self, data=self.data[keep].reset_index(drop=True), treated_override=override,
                      other_donors=other)
        return self.carry_views(out, until=end)

    def with_other_layers(self, values: pd.DataFrame, overlap: dict[str, Iterable[str]]) -> DailyPanel:
        """Add the areas of other layers as synthetic-control donors: ``values`` day, area
        ("layer:area"), value; ``overlap`` maps each to the areas of this layer it lies in. One that
        lies in a program area is never a donor (it holds the program's own calls).

        >>> p = DailyPanel.build(pd.DataFrame({"day": ["2024-01-01"] * 2, "area": ["A", "B"], "value": [1.0, 2.0]}),
        ...                      treated=["A"], start="2024-01-01", outcome="calls")
        >>> v = pd.DataFrame({"day": ["2024-01-01"] * 2, "area": ["zip:1", "zip:2"], "value": [3.0, 4.0]})
        >>> list(p.with_other_layers(v, {"zip:1": {"A"}, "zip:2": {"B"}}).other_donors.columns)
        ['zip:2']
        """
        frame = values.assign(day=pd.to_datetime(values["day"]).dt.tz_localize(None).dt.normalize())
        wide = frame.pivot_table(index="day", columns="area", values="value", aggfunc="sum").reindex(self.days)
        wide = wide.fillna(0.0) if self.kind == "count" else wide
        overlap = {k: frozenset(v) for k, v in overlap.items()}
        keep = [c for c in wide.columns if not overlap.get(c, frozenset()) & self.treated and c in overlap]
        return replace(self, other_donors=wide[keep], other_overlap={c: overlap[c] for c in keep})

    def without(self, areas: Iterable[str], why: str) -> DailyPanel:
        """The panel with ``areas`` (untreated ones) left out of the comparison, saying why."""
        drop = sorted(set(areas) - self.treated - self.excluded)
        if not drop:
            return self
        return replace(self, excluded=self.excluded | frozenset(drop),
                       notes=(*self.notes, f"Left out of the comparison: {', '.join(drop)} ({why})."))

    def with_start(self, start: pd.Timestamp) -> DailyPanel:
        return self.carry_views(replace(self, start=pd.Timestamp(start)))  # the same data

    def carry_views(self, out: DailyPanel, *, until=None, without: Iterable[str] = ()) -> DailyPanel:
        """``out``, whose data are this panel's cut to the days before ``until`` and without the
        areas ``without``, given the views already built from this panel, cut the same way.

        The grid is complete (every area on every observed day), so a cut of the views is what
        building them again from ``out.data`` gives; an evaluation builds thousands of placebo
        panels, and a pivot each was most of its time."""
        if out.data.empty:
            return out
        drop = frozenset(without)
        cached = self.__dict__
        if "days" in cached:
            out.__dict__["days"] = self.days if until is None else self.days[self.days < until]
        if "_areas" in cached:
            out.__dict__["_areas"] = tuple(a for a in self._areas if a not in drop)
        if "_wide" in cached:
            wide = self._wide
            if until is not None:
                wide = wide[wide.index < until]
            if drop & set(wide.columns):
                wide = wide.drop(columns=[c for c in wide.columns if c in drop])
            out.__dict__["_wide"] = wide
        # a day's total depends on that day's row alone: the cut of the total is the total of the cut
        if "_treated_total" in cached and out.treated == self.treated and out.kind == self.kind:
            total = self._treated_total
            out.__dict__["_treated_total"] = total if until is None else total[total.index < until]
        return out

    def require(self, *, min_pre: int = 10, min_post: int = 5, control: bool = False) -> None:
        if self.pre_days < min_pre or self.post_days < min_post:
            raise EvaluationError(
                f"{self.pre_days} observed days before {self.start.date()} and {self.post_days} after: "
                f"at least {min_pre} before and {min_post} after are needed")
        if control and self.n_control < 1:
            raise EvaluationError("no untreated areas in this layer to compare with")


def _pivot(data: pd.DataFrame) -> pd.DataFrame:
    return data.pivot(index="day", columns="area", values="value").sort_index()


def _unstable_in(wide: pd.DataFrame, treated: frozenset[str], share: float = 0.1) -> tuple[frozenset[str], tuple[str, ...]]:
    """Areas silent on the first or last ``share`` of the observed days (created or dissolved),
    in the panel's wide view (``_pivot``).

    >>> d = pd.DataFrame({"day": list(pd.date_range("2024-01-01", periods=20)) * 2,
    ...                   "area": ["A"] * 20 + ["NEW"] * 20, "value": [5.0] * 20 + [0.0] * 10 + [3.0] * 10})
    >>> _unstable_in(_pivot(d), frozenset({"A"}))[0]
    frozenset({'NEW'})
    """
    wide = wide.fillna(0)
    n = max(int(len(wide) * share), 1)
    out, notes = set(), []
    for area in wide.columns:
        col = wide[area]
        if col.sum() > 0 and ((col.iloc[:n] == 0).all() or (col.iloc[-n:] == 0).all()):
            first, last = col[col > 0].index.min(), col[col > 0].index.max()
            notes.append(f"Area {area} has calls only from {first:%Y-%m-%d} to {last:%Y-%m-%d}: the layer's "
                         "areas changed (a re-districting?), so it is left out of the comparison"
                         + (" — and it is a program area: the before/after is not like for like" if area in treated else "")
                         + ".")
            if area not in treated:
                out.add(area)
    return frozenset(out), tuple(notes)
