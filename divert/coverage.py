"""What a figure's data covers, and which claims that coverage supports.

A figure mixes sources that need not cover the same city: Seattle's calls are one sector's
extract while its crime reports and its budget are city-wide; San Antonio publishes a few
days a month. Read from the stored data (``consumers/db/sources/coverage.py``), a
:class:`Coverage` says which areas of a layer each source covers, the period and the days
with data, and answers two questions every output asks before it prints a claim:

* may a share be called "of the city's"? Only when the calls cover every area the other
  sources cover (:attr:`Coverage.partial_calls`);
* may an alternative team be priced against the police time it frees? Not when the calls
  cover a part of the city (a team serves a city, the calls are a slice of it), nor when the
  volume is too thin to keep a team busy (:func:`thin_volume`).

>>> from datetime import datetime, UTC
>>> t0, t1 = datetime(2010, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)
>>> calls = Source("calls", frozenset({"C1", "C2", "C3"}), t0, t1, days=2827, records=4612)
>>> crime = Source("crime reports", frozenset({f"B{i}" for i in range(48)} | {"C1", "C2", "C3"}), t0, t1,
...                days=12, records=469623)
>>> c = Coverage("seattle", "beat", calls, crime, budget="Seattle PD FY2020 budget (city-wide)")
>>> c.partial_calls, c.share_word()
(True, 'of the 3 beats the calls cover')
>>> print(c.notes()[0])
COVERAGE: calls cover 3 of 51 beats (C1, C2, C3); crime reports cover 51; the budget is city-wide.
>>> thin_volume(4.1)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# a team on duty every hour for fewer calls than one a day would be idle nearly all its hours:
# below this, a staffing plan or a cost per team says more about the threshold than the city
MIN_CALLS_PER_WEEK = 7.0

# a source whose days with data are fewer than this share of its span is a sample of days
SAMPLED_BELOW = 0.9

# calls in fewer than this share of the layer's known areas are an extract of part of the city
# (a few quiet areas with no call in a window do not make a city-wide feed partial)
PARTIAL_BELOW = 0.9


@dataclass(frozen=True)
class Source:
    """One source's reach: the areas of the layer it has records in, its first and last record,
    the days with data and the number of records."""

    name: str                    # 'calls', 'crime reports'
    areas: frozenset[str]
    start: datetime | None
    end: datetime | None
    days: int
    records: int

    @property
    def span_days(self) -> int:
        if self.start is None or self.end is None:
            return 0
        return (self.end.date() - self.start.date()).days + 1

    @property
    def sampled(self) -> bool:
        """Days with data are a sample of the span (San Antonio's first days of each month)."""
        return self.span_days > 0 and self.days < SAMPLED_BELOW * self.span_days

    @property
    def weeks(self) -> float:
        """Weeks with data: what a per-week figure divides by."""
        return self.days / 7


@dataclass(frozen=True)
class Coverage:
    city: str
    layer: str | None             # None: the city's calls have no area layer
    calls: Source
    crime: Source | None = None
    budget: str | None = None     # the cost model's budget, always city-wide when present
    boundaries: frozenset[str] = frozenset()   # the layer's areas in the city's boundary file

    @property
    def areas(self) -> frozenset[str]:
        """Every area of the layer: the boundary file's and those some source has records in."""
        return self.boundaries | self.calls.areas | (self.crime.areas if self.crime else frozenset())

    @property
    def partial_calls(self) -> bool:
        """The calls cover a part of the layer's areas: a share of the calls is not a share of the
        city, and a city-wide alternative cannot be priced against them."""
        return bool(self.layer) and bool(self.calls.areas) and \
            len(self.calls.areas) < PARTIAL_BELOW * len(self.areas)

    @property
    def supports_city_shares(self) -> bool:
        return not self.partial_calls

    def share_word(self) -> str:
        """How a share of the calls' events is named: 'of the city's', or of the areas covered."""
        if self.supports_city_shares:
            return "of the city's"
        n = len(self.calls.areas)
        return f"of the {n} {plural(n, self.layer)} the calls cover"

    def notes(self) -> list[str]:
        """What an output says at its top, one line each (empty when the sources agree)."""
        out = []
        if self.partial_calls:
            covered = sorted(self.calls.areas)
            named = ", ".join(covered) if len(covered) <= 6 else ", ".join(covered[:6]) + ", …"
            others = f"crime reports cover {len(self.crime.areas)}" if self.crime else ""
            if self.boundaries and not self.crime:
                others = f"the city's boundary file has {len(self.boundaries)}"
            budget = "the budget is city-wide" if self.budget else ""
            tail = "; ".join(x for x in (others, budget) if x)
            out.append(f"COVERAGE: calls cover {len(covered)} of {len(self.areas)} {plural(len(self.areas), self.layer)}"
                       f" ({named}){'; ' + tail if tail else ''}.")
        if self.crime and self.calls.start and self.crime.start and self.crime.end and self.calls.end and (
                self.crime.start.year != self.calls.start.year or self.crime.end.year != self.calls.end.year):
            out.append(f"PERIOD: calls {period(self.calls)}; crime reports {period(self.crime)}.")
        if self.calls.sampled:
            out.append(f"SAMPLED: calls on {self.calls.days:,} of the {self.calls.span_days:,} days from "
                       f"{self.calls.start:%Y-%m-%d} to {self.calls.end:%Y-%m-%d}; per-week figures are over "
                       f"the {self.calls.weeks:,.1f} weeks with data.")
        return out


def period(s: Source) -> str:
    return f"{s.start:%Y-%m-%d} – {s.end:%Y-%m-%d}" if s.start and s.end else "none stored"


def thin_volume(calls_per_week: float) -> bool:
    """Too few calls to staff a team for (fewer than one a day on average)."""
    return calls_per_week < MIN_CALLS_PER_WEEK


def plural(n: float, word: str | None, many: str | None = None) -> str:
    """'1 beat', '2 beats': the word for ``n`` of it.

    >>> plural(1, "officer-initiated event"), plural(2, "officer-initiated event"), plural(0, "call")
    ('officer-initiated event', 'officer-initiated events', 'calls')
    """
    word = word or "area"
    return word if n == 1 else (many or word + "s")


def count(n: float, word: str, many: str | None = None) -> str:
    """'1 officer-initiated event', '1,694 calls'.

    >>> count(1, "officer-initiated event"), count(1694, "call"), count(2.5, "harm point")
    ('1 officer-initiated event', '1,694 calls', '2.5 harm points')
    """
    number = f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"
    return f"{number} {plural(n, word, many)}"


def withheld_alternative(coverage: Coverage | None, calls_per_week: float, layer_word: str = "") -> str | None:
    """Why an alternative's staffing may not be priced against the police time it frees, or None.

    >>> withheld_alternative(None, 3.0)
    'too few calls to staff a team for: 3.0 a week with data (fewer than one a day)'
    >>> withheld_alternative(None, 30.0) is None
    True
    """
    if coverage is not None and coverage.partial_calls:
        n = len(coverage.calls.areas)
        return (f"the calls cover {n} of {len(coverage.areas)} {plural(len(coverage.areas), coverage.layer)}: "
                "a team serves the city, so its cost is not set against one part's police time")
    if thin_volume(calls_per_week):
        return f"too few calls to staff a team for: {calls_per_week:,.1f} a week with data (fewer than one a day)"
    return None


__all__ = ["Coverage", "Source", "MIN_CALLS_PER_WEEK", "thin_volume", "plural", "count", "withheld_alternative",
           "period"]
