"""Disparity by subject group, when stop records carry demographics and outcomes.

Three sections, each present only when the data can support it; an absent field means the
section is omitted (``None``), never reported as zeros:

* **stops per 1,000 residents** by group — needs subject groups on the stops and a population
  by group (for the city or the area compared);
* **search rate** by group (searches / stops) — needs stops that record whether a search
  happened (some record in the window carries a ``search`` outcome);
* **hit rate** by group (searches that found contraband / searches): the outcome test — if
  searches of one group find contraband less often, the bar for searching that group may be
  lower. Needs ``contraband_found`` to be recorded.

Rates carry Wilson 95% intervals. These are descriptive comparisons, not findings of cause.

>>> stops = [Stop("A", ("search", "contraband_found")), Stop("A", ("search",)), Stop("B", ("search",)),
...          Stop("B", ()), Stop("B", ()), Stop(None, ())]
>>> r = disparity(stops, population={"A": 1000, "B": 4000})
>>> [(g.group, g.stops, round(g.stops_per_1000, 2), g.search_rate, g.hit_rate) for g in r.groups]
[('A', 2, 2.0, 1.0, 0.5), ('B', 3, 0.75, 0.333..., 0.0)]
>>> r.unknown_group
1
>>> disparity([Stop(None, ()), Stop(None, ("arrest",))]) is None   # no demographics: omitted
True
>>> disparity([Stop("A", ()), Stop("B", ())]).groups[0].search_rate is None  # searches not recorded
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from divert.divergence import Z95


@dataclass(frozen=True)
class Stop:
    group: str | None                 # the subject's group as the city recorded it; None = not recorded
    outcomes: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupRates:
    group: str
    stops: int
    population: float | None
    stops_per_1000: float | None
    searches: int | None
    search_rate: float | None
    search_interval: tuple[float, float] | None
    hits: int | None
    hit_rate: float | None
    hit_interval: tuple[float, float] | None


@dataclass(frozen=True)
class Disparity:
    groups: list[GroupRates]
    unknown_group: int                # stops with no group recorded (left out of the rates)
    has_population: bool
    has_searches: bool
    has_hits: bool


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials.

    >>> tuple(round(x, 3) for x in wilson(5, 10))
    (0.237, 0.763)
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def disparity(stops: Iterable[Stop], population: Mapping[str, float] | None = None) -> Disparity | None:
    """Rates by group, or None when no stop carries a subject group."""
    stops = list(stops)
    known = [s for s in stops if s.group]
    if not known:
        return None
    has_searches = any("search" in s.outcomes for s in stops)
    has_hits = has_searches and any("contraband_found" in s.outcomes for s in stops)
    has_population = bool(population)
    groups = []
    for g in sorted({s.group for s in known}):
        mine = [s for s in known if s.group == g]
        n = len(mine)
        pop = population.get(g) if population else None
        searched = [s for s in mine if "search" in s.outcomes] if has_searches else None
        k = len(searched) if searched is not None else None
        hits = sum("contraband_found" in s.outcomes for s in searched) if has_hits and searched is not None else None
        groups.append(GroupRates(
            g, n, pop, 1000 * n / pop if pop else None,
            k, k / n if k is not None else None, wilson(k, n) if k is not None else None,
            hits, hits / k if hits is not None and k else None,
            wilson(hits, k) if hits is not None and k else None))
    return Disparity(groups, len(stops) - len(known), has_population, has_searches, has_hits)


__all__ = ["Stop", "GroupRates", "Disparity", "disparity", "wilson"]
