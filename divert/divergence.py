"""Where enforcement and reported crime diverge: location quotients and the dissimilarity index.

For each area *a* of one layer (beats, neighborhoods) and one time window:

* enforcement share ``s_a = E_a / ΣE`` (officer-initiated events, plus arrests where counted);
* crime share ``c_a = C_a / ΣC`` (reported offences, harm-weighted when weights are given);
* location quotient ``LQ_a = s_a / c_a``: 2.0 means the area receives twice the share of
  enforcement that its share of reported crime would give it; 1.0 means proportional;
* dissimilarity index ``D = ½ Σ |s_a − c_a|``: the share of enforcement that would have to move
  between areas for enforcement to be distributed exactly as reported crime is (0 = identical).

A raw LQ from a handful of events is noise, so areas are ranked by a **shrunk** LQ: an
empirical-Bayes estimate that pulls each area's log LQ toward the citywide mean in proportion
to its sampling variance (a normal–normal model on the log scale; the between-area variance
τ² is the DerSimonian–Laird moment estimate). The sampling variance of a log share under a
multinomial draw is ``1/n_a − 1/N`` (delta method), so
``v_a = 1/(E_a+½) − 1/(ΣE+½) + (V_a+½r)/(C_a+½)² − r/(ΣC+½)`` where ``V_a`` is the crime
variance (the count itself, or Σ w²·n for harm weights) and ``r = ΣV/ΣC`` (1 for plain counts). The 95% interval is the posterior's.
The funnel z-score ``log LQ_a / √v_a`` tells whether a raw LQ is outside what chance alone
would give if enforcement followed crime (|z| > 3.09 is outside the 99.8% funnel limits).

These figures describe association between where enforcement happens and where crime is
reported; they say nothing about why.

>>> d = divergence({"A": 30, "B": 10}, {"A": 50, "B": 50})
>>> [(a.area, round(a.lq, 2)) for a in d.areas], d.dissimilarity
([('A', 1.5), ('B', 0.5)], 0.25)
>>> d = divergence({"A": 3, "B": 400, "C": 600}, {"A": 1, "B": 500, "C": 500})
>>> round(d.by_area["A"].lq, 1), d.by_area["A"].lq_shrunk < d.by_area["A"].lq, d.areas[0].area != "A"
(3.0, True, True)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd

Restrict = Literal["union", "both"]

Z95 = 1.959963984540054
Z998 = 3.090232306167813  # two-sided 99.8% funnel limits


@dataclass(frozen=True)
class AreaDivergence:
    area: str
    enforcement: float
    crime: float
    enforcement_share: float
    crime_share: float
    lq: float                  # inf when the area has enforcement and no reported crime
    lq_shrunk: float
    low: float                 # 95% interval of the shrunk LQ
    high: float
    z: float                   # funnel z-score of the raw log LQ (with ½ continuity correction)

    @property
    def outside_funnel(self) -> str | None:
        """'above' / 'below' when the raw LQ is outside the 99.8% funnel limits, else None."""
        return "above" if self.z > Z998 else "below" if self.z < -Z998 else None


@dataclass(frozen=True)
class Divergence:
    areas: list[AreaDivergence]           # ranked by shrunk LQ, highest first
    dissimilarity: float
    total_enforcement: float
    total_crime: float
    prior_lq: float                        # exp(μ): the value every area is shrunk toward
    tau: float                             # between-area SD of log LQ
    restrict: Restrict = "union"
    excluded: dict[str, str] = field(default_factory=dict)  # area -> why it is not in the set

    @property
    def by_area(self) -> dict[str, AreaDivergence]:
        return {a.area: a for a in self.areas}


def select_areas(enforcement: Mapping[str, float], crime: Mapping[str, float],
                 restrict: Restrict = "union") -> tuple[list[str], dict[str, str]]:
    """The areas compared, and why the others are left out.

    ``union``: every area with enforcement or crime. ``both``: only areas with both (use it when
    one source covers part of the city, such as Seattle's sector-C call extracts).
    """
    names = sorted(set(enforcement) | set(crime))
    keep, excluded = [], {}
    for a in names:
        e, c = float(enforcement.get(a, 0) or 0), float(crime.get(a, 0) or 0)
        if e <= 0 and c <= 0:
            excluded[a] = "no enforcement and no reported crime"
        elif restrict == "both" and e <= 0:
            excluded[a] = "no enforcement records (outside the enforcement data's coverage?)"
        elif restrict == "both" and c <= 0:
            excluded[a] = "no reported crime records"
        else:
            keep.append(a)
    return keep, excluded


def dissimilarity(enforcement: Mapping[str, float], crime: Mapping[str, float],
                  restrict: Restrict = "union") -> float:
    """D = ½ Σ |s_a − c_a| over the selected areas.

    >>> dissimilarity({"A": 1, "B": 1}, {"A": 1, "B": 3})
    0.25
    """
    keep, _ = select_areas(enforcement, crime, restrict)
    e = np.array([float(enforcement.get(a, 0)) for a in keep])
    c = np.array([float(crime.get(a, 0)) for a in keep])
    if not len(keep) or e.sum() <= 0 or c.sum() <= 0:
        return float("nan")
    return float(0.5 * np.abs(e / e.sum() - c / c.sum()).sum())


def _dersimonian_laird(y: np.ndarray, v: np.ndarray) -> tuple[float, float, float]:
    """(μ, τ², Var μ) of a normal random-effects model by the DerSimonian–Laird moments."""
    w = 1.0 / v
    mu_fixed = float((w * y).sum() / w.sum())
    k = len(y)
    if k < 2:
        return mu_fixed, 0.0, float(1.0 / w.sum())
    q = float((w * (y - mu_fixed) ** 2).sum())
    denom = float(w.sum() - (w ** 2).sum() / w.sum())
    tau2 = max(0.0, (q - (k - 1)) / denom) if denom > 0 else 0.0
    ws = 1.0 / (v + tau2)
    return float((ws * y).sum() / ws.sum()), tau2, float(1.0 / ws.sum())


def divergence(enforcement: Mapping[str, float], crime: Mapping[str, float], *,
               crime_variance: Mapping[str, float] | None = None,
               restrict: Restrict = "union") -> Divergence:
    """LQ (raw and shrunk, with a 95% interval) per area, and D, for one window."""
    keep, excluded = select_areas(enforcement, crime, restrict)
    e = np.array([float(enforcement.get(a, 0) or 0) for a in keep])
    c = np.array([float(crime.get(a, 0) or 0) for a in keep])
    cv = np.array([float((crime_variance or crime).get(a, 0) or 0) for a in keep])
    te, tc = float(e.sum()), float(c.sum())
    if not keep or te <= 0 or tc <= 0:
        return Divergence([], float("nan"), te, tc, float("nan"), float("nan"), restrict, excluded)
    s, cs = e / te, c / tc
    with np.errstate(divide="ignore", invalid="ignore"):
        lq = np.where(c > 0, s / np.where(c > 0, cs, 1), np.inf)
    # log LQ with ½ continuity corrections, and its multinomial sampling variance
    y = np.log((e + 0.5) / (te + 0.5)) - np.log((c + 0.5) / (tc + 0.5))
    r = float(cv.sum() / tc) if cv.sum() > 0 else 1.0  # variance per unit of crime: 1 for plain counts
    v = 1.0 / (e + 0.5) - 1.0 / (te + 0.5) + (cv + 0.5 * r) / (c + 0.5) ** 2 - r / (tc + 0.5)
    v = np.maximum(v, 1e-9)
    mu, tau2, var_mu = _dersimonian_laird(y, v)
    shrink = v / (v + tau2) if tau2 > 0 else np.ones_like(v)
    post = shrink * mu + (1 - shrink) * y
    post_var = (1 - shrink) * v + shrink ** 2 * var_mu
    sd = np.sqrt(post_var)
    z = y / np.sqrt(v)
    rows = [AreaDivergence(a, float(e[i]), float(c[i]), float(s[i]), float(cs[i]), float(lq[i]),
                           float(math.exp(post[i])), float(math.exp(post[i] - Z95 * sd[i])),
                           float(math.exp(post[i] + Z95 * sd[i])), float(z[i]))
            for i, a in enumerate(keep)]
    rows.sort(key=lambda r: (-r.lq_shrunk, -r.enforcement, r.area))
    d = float(0.5 * np.abs(s - cs).sum())
    return Divergence(rows, d, te, tc, float(math.exp(mu)), float(math.sqrt(tau2)), restrict, excluded)


# -- windows over frames (the pure twin of the SQL function area_divergence) ---------------


def window_starts(start: datetime, end: datetime, width: timedelta | None,
                  step: timedelta | None = None) -> list[tuple[datetime, datetime]]:
    """Windows [s, s + width) stepping by ``step`` (default: width) from ``start`` while s < end;
    the last window is cut at ``end``. ``width=None`` is one window [start, end).

    >>> from datetime import UTC
    >>> t = datetime(2020, 1, 1, tzinfo=UTC)
    >>> [(a.day, b.day) for a, b in window_starts(t, t + timedelta(days=5), timedelta(days=2))]
    [(1, 3), (3, 5), (5, 6)]
    """
    if width is None:
        return [(start, end)]
    step = step or width
    out, s = [], start
    while s < end:
        out.append((s, min(s + width, end)))
        s += step
    return out


def window_counts(enforcement: pd.DataFrame, crime: pd.DataFrame,
                  windows: list[tuple[datetime, datetime]]) -> pd.DataFrame:
    """Enforcement and crime per window and area, as ``area_divergence`` computes them in SQL.

    ``enforcement``: columns ``occurred_at`` (UTC) and ``area`` (rows without an area are not
    counted). ``crime``: ``occurred_at``, ``period_end`` (NaT for single reports), ``area``,
    ``count`` and optionally ``weight``; a report published as a count over a period is spread
    evenly over it, so a window receives the share of the period it overlaps.
    Returns columns window_start, window_end, area, enforcement, crime, crime_variance.
    """
    e = enforcement.dropna(subset=["area"])
    c = crime.dropna(subset=["area"]).copy()
    if "weight" not in c:
        c["weight"] = 1.0
    et = pd.to_datetime(e["occurred_at"], utc=True)
    ct0 = pd.to_datetime(c["occurred_at"], utc=True)
    ct1 = pd.to_datetime(c["period_end"], utc=True) if "period_end" in c else pd.Series(pd.NaT, index=c.index)
    length = (ct1 - ct0).dt.total_seconds()
    frames = []
    for ws, we in windows:
        wst, wet = pd.Timestamp(ws), pd.Timestamp(we)
        ecount = e.loc[(et >= wst) & (et < wet)].groupby("area").size().astype(float)
        overlap = (ct1.clip(upper=wet) - ct0.clip(lower=wst)).dt.total_seconds().clip(lower=0)
        point = ct1.isna() | ~(length > 0)  # a single report, or a period that is no period
        frac = np.where(point, ((ct0 >= wst) & (ct0 < wet)).astype(float),
                        overlap / length.where(length > 0, np.nan))
        frac = pd.Series(np.nan_to_num(frac, nan=0.0), index=c.index)
        weighted = c["count"] * c["weight"] * frac
        var = c["count"] * c["weight"] ** 2 * frac
        ccount = weighted.groupby(c["area"]).sum()
        cvar = var.groupby(c["area"]).sum()
        areas = sorted(set(ecount.index) | set(ccount.index[ccount > 0]))
        frames.append(pd.DataFrame({
            "window_start": ws, "window_end": we, "area": areas,
            "enforcement": [float(ecount.get(a, 0.0)) for a in areas],
            "crime": [float(ccount.get(a, 0.0)) for a in areas],
            "crime_variance": [float(cvar.get(a, 0.0)) for a in areas],
        }))
    cols = ["window_start", "window_end", "area", "enforcement", "crime", "crime_variance"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def enforcement_frame(events: Iterable, layer: str) -> pd.DataFrame:
    """Officer-initiated CadEvents (or OfficerActivity) → the frame :func:`window_counts` takes."""
    rows = [(getattr(e, "received_at", None) or e.occurred_at, e.areas.get(layer) or None) for e in events]
    return pd.DataFrame(rows, columns=["occurred_at", "area"])


def crime_frame(reports: Iterable, layer: str, harm: Mapping[str, float] | None = None,
                harm_default: float = 1.0) -> pd.DataFrame:
    """CrimeReports → the frame :func:`window_counts` takes (weights as ``area_divergence`` applies them)."""
    def weight(r) -> float:
        if harm is None:
            return 1.0
        return harm.get(r.offense, harm.get(r.category, harm_default))

    rows = [(r.occurred_at, r.period_end, r.areas.get(layer) or None, r.count, weight(r)) for r in reports]
    return pd.DataFrame(rows, columns=["occurred_at", "period_end", "area", "count", "weight"])


def divergence_by_window(counts: pd.DataFrame, restrict: Restrict = "union") -> dict[tuple, Divergence]:
    """:func:`divergence` for every window of a ``window_counts`` (or SQL) frame."""
    out = {}
    for (ws, we), g in counts.groupby(["window_start", "window_end"], sort=True):
        var = dict(zip(g["area"], g["crime_variance"], strict=False)) if "crime_variance" in g else None
        out[(ws, we)] = divergence(dict(zip(g["area"], g["enforcement"], strict=False)), dict(zip(g["area"], g["crime"], strict=False)),
                                   crime_variance=var, restrict=restrict)
    return out


__all__ = ["AreaDivergence", "Divergence", "divergence", "dissimilarity", "select_areas",
           "window_starts", "window_counts", "divergence_by_window", "enforcement_frame", "crime_frame",
           "Z95", "Z998"]
