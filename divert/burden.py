"""Neighborhood burden: areas overburdened by reported crime, by policing untethered to crime, or both.

For each area of one window (from :func:`divert.divergence.divergence`):

* **crime burden** — with a population table, reported crime per 1,000 residents against the
  city's rate (a rate ratio); without one, the area's share of reported crime against an
  equal share (1/k of the k areas compared). Harm-weighted when weights are given.
  Overburdened when the ratio is at least ``crime_threshold`` and its 95% interval is above 1.
* **policing untethered to crime** — the shrunk location quotient is at least ``lq_threshold``
  and its 95% interval is above 1: enforcement exceeds what the area's share of reported crime
  would give it, beyond chance.
* per-capita police contact (enforcement per 1,000 residents) when a population is given.

Every line states association, never cause: "enforcement 2.1× its share of reported crime",
never "because of".

>>> from divert.divergence import divergence
>>> d = divergence({"A": 400, "B": 100, "C": 100}, {"A": 100, "B": 300, "C": 100})
>>> rows = assess(d)
>>> [(r.area, r.kind) for r in rows]
[('A', 'policing'), ('B', 'crime'), ('C', None)]
>>> print(rows[0].sentence("beat"))  # doctest: +NORMALIZE_WHITESPACE
beat A: enforcement 3.3× its share of reported crime (LQ 3.33, shrunk 3.30, 95% interval 2.75–3.97);
400 officer-initiated events, 66.7% of the 3 beats compared; reported crime 0.60× an equal share
(100 offences, 20.0% of the 3 beats compared).

Shares are of the areas compared, never "of the city's": the calls may cover a part of the city
(Seattle's one sector) while crime reports cover all of it. An area with no enforcement is never
labelled as policing untethered to crime, however far shrinkage lifts its LQ.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from divert.divergence import Z95, AreaDivergence, Divergence
from divert.exceptions import ConfigError
from divert.paths import reference_dir

KIND_ORDER = {"both": 0, "policing": 1, "crime": 2, None: 3}
KIND_LABEL = {"both": "crime and policing", "policing": "policing untethered to crime",
              "crime": "crime", None: "—"}


@dataclass(frozen=True)
class AreaBurden:
    area: str
    kind: str | None                   # 'both' | 'policing' | 'crime' | None
    div: AreaDivergence
    crime_ratio: float                 # per-capita rate ratio, or share / equal share
    crime_low: float
    crime_high: float
    per_capita: bool
    population: float | None = None
    crime_per_1000: float | None = None
    enforcement_per_1000: float | None = None
    harm_weighted: bool = False
    compared: int = 0                  # areas compared in the window: what a share is a share of

    def sentence(self, layer: str = "area", event_word: str = "officer-initiated event") -> str:
        from divert.coverage import count, plural

        d = self.div
        of = f"of the {self.compared} {plural(self.compared, layer)} compared" if self.compared else "of the total"
        if d.enforcement <= 0:
            lq = "no enforcement recorded"
        elif math.isinf(d.lq):
            lq = (f"enforcement with no reported crime (shrunk LQ {d.lq_shrunk:.2f}, "
                  f"95% interval {d.low:.2f}–{d.high:.2f})")
        else:
            lq = (f"enforcement {d.lq:.1f}× its share of reported crime (LQ {d.lq:.2f}, shrunk "
                  f"{d.lq_shrunk:.2f}, 95% interval {d.low:.2f}–{d.high:.2f})")
        crime_word = "harm-weighted reported crime" if self.harm_weighted else "reported crime"
        unit = "harm point" if self.harm_weighted else "offence"
        if self.per_capita and self.crime_per_1000 is not None and math.isfinite(self.crime_ratio):
            crime = (f"{crime_word} {self.crime_per_1000:.1f} per 1,000 residents, {self.crime_ratio:.2f}× "
                     f"the compared areas' rate; police contact {self.enforcement_per_1000:.1f} per 1,000 residents")
        elif d.crime > 0:
            crime = (f"{crime_word} {self.crime_ratio:.2f}× an equal share ({count(round(d.crime), unit)}, "
                     f"{d.crime_share:.1%} {of})")
        else:
            crime = f"no {crime_word}"
        events = count(d.enforcement, event_word)
        share = f", {d.enforcement_share:.1%} {of}" if d.enforcement > 0 else ""
        return f"{layer} {self.area}: {lq}; {events}{share}; {crime}."


def load_population(city: str, layer: str, path: Path | None = None) -> dict[str, float] | None:
    """``reference/areas/<city>.csv`` (columns layer, area, population) for one layer, or None."""
    path = Path(path) if path else reference_dir() / "areas" / f"{city}.csv"
    if not path.is_file():
        return None
    out: dict[str, float] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f), 2):
            try:
                if row["layer"] == layer:
                    out[row["area"].strip()] = float(row["population"])
            except (KeyError, ValueError) as exc:
                raise ConfigError(f"{path}: line {i}: expected columns layer, area, population "
                                  f"(a number): {exc}") from exc
    return out or None


def _ratio_interval(ratio: float, count: float, variance: float) -> tuple[float, float]:
    if ratio <= 0 or count <= 0:
        return 0.0, math.inf if count <= 0 else 0.0
    se = math.sqrt(max(variance, count) / count ** 2) if variance > 0 else math.sqrt(1 / count)
    return ratio * math.exp(-Z95 * se), ratio * math.exp(Z95 * se)


def assess(div: Divergence, *, population: Mapping[str, float] | None = None,
           crime_variance: Mapping[str, float] | None = None, harm_weighted: bool = False,
           crime_threshold: float = 1.25, lq_threshold: float = 1.25) -> list[AreaBurden]:
    """Classify and rank every area of one window: both, policing, crime, then the rest."""
    areas = div.areas
    k = len(areas)
    pop = {a.area: population[a.area] for a in areas if population and population.get(a.area)} \
        if population else {}
    per_capita = bool(pop) and len(pop) == k
    total_pop = sum(pop.values()) if per_capita else 0.0
    out = []
    for a in areas:
        var = (crime_variance or {}).get(a.area, a.crime)
        if per_capita:
            city_rate = div.total_crime / total_pop
            ratio = (a.crime / pop[a.area]) / city_rate if city_rate > 0 else math.nan
            c1000 = 1000 * a.crime / pop[a.area]
            e1000 = 1000 * a.enforcement / pop[a.area]
        else:
            ratio = a.crime_share * k
            c1000 = e1000 = None
        low, high = _ratio_interval(ratio, a.crime, var)
        crime_hit = ratio >= crime_threshold and low > 1
        # enforcement beyond its share of crime needs enforcement, and a raw LQ above 1: shrinkage
        # toward a high city-wide prior must not label an area with no (or too little) enforcement
        policing_hit = a.enforcement > 0 and a.lq > 1 and a.lq_shrunk >= lq_threshold and a.low > 1
        kind = "both" if crime_hit and policing_hit else "policing" if policing_hit else \
            "crime" if crime_hit else None
        out.append(AreaBurden(a.area, kind, a, ratio, low, high, per_capita,
                              pop.get(a.area), c1000, e1000, harm_weighted, k))
    out.sort(key=lambda r: (KIND_ORDER[r.kind],
                            -(r.div.lq_shrunk if r.kind in ("both", "policing") else r.crime_ratio),
                            r.area))
    return out


# -- enforcement read from crime reports, beside what residents say (issue 11) -------------


def fifth(value: float, values: list[float]) -> str:
    """Where ``value`` stands among ``values``: the city's lowest or highest fifth, or the middle.

    >>> vals = [float(v) for v in range(1, 11)]
    >>> fifth(1.0, vals), fifth(10.0, vals), fifth(5.0, vals)
    ("among the city's lowest fifth", "among the city's highest fifth", 'in the middle three fifths')
    """
    below = sum(v < value for v in values) / len(values)
    above = sum(v > value for v in values) / len(values)
    if below < 0.2:
        return "among the city's lowest fifth"
    if above < 0.2:
        return "among the city's highest fifth"
    return "in the middle three fifths"


@dataclass(frozen=True)
class AreaVoice:
    """One area: enforcement read from crime reports against other crime, and what residents say."""

    area: str
    offences: AreaDivergence            # enforcement offences (narcotics, weapons …) vs other crime
    arrests: AreaDivergence | None      # arrests vs other crime
    other_crime: float
    population: float | None
    survey: dict[str, float]            # measure (trust, safety …) -> 0–100 value

    def sentence(self, layer: str, survey_rank: Mapping[str, list[float]]) -> str:
        d = self.offences
        lq = "enforcement with no other crime reported" if math.isinf(d.lq) else \
            f"enforcement {d.lq:.1f}× its share of other crime"
        parts = [f"{layer} {self.area}: {lq} (shrunk {d.lq_shrunk:.2f}, 95% interval {d.low:.2f}–{d.high:.2f}; "
                 f"{d.enforcement:,.0f} enforcement offences, {self.other_crime:,.0f} other offences)"]
        if self.arrests is not None and not math.isinf(self.arrests.lq):
            parts.append(f"arrests {self.arrests.lq:.1f}× its share of other crime")
        for measure in ("trust", "safety"):
            if measure in self.survey:
                v = self.survey[measure]
                parts.append(f"{measure} {v:.0f}/100, {fifth(v, survey_rank[measure])}")
        if self.population:
            parts.append(f"other crime {1000 * self.other_crime / self.population:.1f} per 1,000 residents")
        return "; ".join(parts) + "."


def crime_enforcement_voices(counts: Mapping[str, Mapping[str, float]], *,
                             population: Mapping[str, float] | None = None,
                             survey: Mapping[str, Mapping[str, float]] | None = None) -> list[AreaVoice]:
    """``counts``: area -> {enforcement_offences, arrests, other_crime}; ``survey``: measure -> area -> value.
    Ranked by the shrunk LQ of enforcement offences against other crime, highest first.

    >>> v = crime_enforcement_voices({"1": {"enforcement_offences": 300, "arrests": 200, "other_crime": 1000},
    ...                               "2": {"enforcement_offences": 100, "arrests": 100, "other_crime": 1000}},
    ...                              survey={"trust": {"1": 48.0, "2": 61.0}})
    >>> [(a.area, round(a.offences.lq, 2), a.survey["trust"]) for a in v]
    [('1', 1.5, 48.0), ('2', 0.5, 61.0)]
    """
    from divert.divergence import divergence

    other = {a: float(c["other_crime"]) for a, c in counts.items()}
    offences = divergence({a: float(c["enforcement_offences"]) for a, c in counts.items()}, other)
    arrests = divergence({a: float(c["arrests"]) for a, c in counts.items()}, other).by_area
    out = []
    for d in offences.areas:
        out.append(AreaVoice(d.area, d, arrests.get(d.area), other.get(d.area, 0.0),
                             (population or {}).get(d.area),
                             {m: vals[d.area] for m, vals in (survey or {}).items() if d.area in vals}))
    return out


__all__ = ["AreaBurden", "assess", "load_population", "KIND_LABEL", "AreaVoice", "crime_enforcement_voices",
           "fifth"]
