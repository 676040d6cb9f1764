"""Initial → final call type: how often what dispatch first knew and what the call turned out to be
fall on different sides of the policy — the field's main caution about eligibility upper bounds.

Eligibility is decided on the initial type (what dispatch knew). For each initial type eligible for
a civilian team, how often did the call end as a type the policy would not send a civilian to
(its final type's route is police, co-response, EMS/fire, …)? And the reverse: for each initial type
kept with police, how often did it end as a type the policy would send a civilian to? Counted over
community calls whose final type the city recorded; a city that records none (San Antonio) says so.

>>> rows = [GroupCount("WELFARE", True, "WELFARE", "crisis", 8), GroupCount("WELFARE", True, "ASSAULT", "police", 2),
...         GroupCount("DISTURB", False, "WELFARE", "crisis", 1), GroupCount("DISTURB", False, None, None, 5)]
>>> r = reconcile(rows)
>>> r.eligible_to_other[0].code, r.eligible_to_other[0].crossed, r.eligible_to_other[0].share
('WELFARE', 2, 0.2)
>>> r.other_to_eligible[0].ended_as, r.with_final, r.calls
({'WELFARE': 1}, 11, 16)
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from schemas.records import CIVILIAN_ROUTES

UNMAPPED = "unmapped"   # a final type the crosswalk does not map (the policy's default route)


class GroupCount(NamedTuple):
    """Community calls with one initial code and eligibility, and one final code and route."""

    initial_code: str | None
    eligible_initial: bool
    final_code: str | None
    final_route: str | None          # None: no final type recorded
    calls: int


@dataclass(frozen=True)
class TypeRow:
    code: str | None                 # the initial type's APCO code (None: not mapped)
    calls: int                       # community calls of that initial code and side
    with_final: int                  # of which the city recorded a final type
    crossed: int                     # ended as a type on the other side of the policy
    ended_as: dict[str, int]         # final codes they crossed to, most frequent first

    @property
    def share(self) -> float | None:
        return self.crossed / self.with_final if self.with_final else None


@dataclass(frozen=True)
class Reconciliation:
    calls: int                       # community calls
    with_final: int                  # of which with a final type recorded
    eligible_to_other: tuple[TypeRow, ...]   # eligible initial types, most calls first
    other_to_eligible: tuple[TypeRow, ...]   # initial types kept with police that ended eligible

    @property
    def eligible_calls(self) -> int:
        return sum(r.calls for r in self.eligible_to_other)

    @property
    def eligible_with_final(self) -> int:
        return sum(r.with_final for r in self.eligible_to_other)

    @property
    def eligible_crossed(self) -> int:
        return sum(r.crossed for r in self.eligible_to_other)

    @property
    def other_crossed(self) -> int:
        return sum(r.crossed for r in self.other_to_eligible)


def reconcile(rows: Iterable[GroupCount]) -> Reconciliation:
    calls = with_final = 0
    side: dict[tuple[bool, str | None], list] = defaultdict(lambda: [0, 0, 0, Counter()])
    for r in rows:
        calls += r.calls
        acc = side[(r.eligible_initial, r.initial_code)]
        acc[0] += r.calls
        if r.final_route is None:
            continue
        with_final += r.calls
        acc[1] += r.calls
        if (r.final_route in CIVILIAN_ROUTES) != r.eligible_initial:
            acc[2] += r.calls
            acc[3][r.final_code or UNMAPPED] += r.calls

    def table(eligible: bool) -> tuple[TypeRow, ...]:
        out = [TypeRow(code, n, wf, crossed, dict(ended.most_common()))
               for (e, code), (n, wf, crossed, ended) in side.items() if e == eligible and (eligible or crossed)]
        key = (lambda t: (-t.calls, t.code or "")) if eligible else (lambda t: (-t.crossed, t.code or ""))
        return tuple(sorted(out, key=key))

    return Reconciliation(calls, with_final, table(True), table(False))
