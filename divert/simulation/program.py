"""A program: one civilian route of the policy in one city, the teams it fields and its target.

When and where it serves is the policy's availability for the route in the city
(:class:`divert.policy.Availability`), or an ``availability`` given here to try another
("one substation, 07:00–23:00") without editing the policy file.

>>> from divert.policy import load_policy
>>> p = Program(load_policy(), "san_antonio", "navigator", teams=2, target_minutes=30)
>>> p.timezone.key, len(p.schedule()), p.area_layer
('America/Chicago', 95, None)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from divert.exceptions import ConfigError
from divert.policy import Availability, Policy
from divert.simulation.engine import Discipline, team_schedule
from schemas.records import CIVILIAN_ROUTES


@dataclass(frozen=True)
class Program:
    policy: Policy
    city: str
    route: str                                  # crisis | navigator
    teams: int | Mapping[int, int]              # flat, or per hour of week (0 = Monday 00h local)
    target_minutes: float = 15.0
    target_share: float = 0.8
    patience_minutes: float | None = None       # None: the target (see divert.simulation.engine)
    discipline: Discipline = "fifo"
    availability_override: Availability | None = None

    def __post_init__(self) -> None:
        if self.route not in CIVILIAN_ROUTES:
            raise ConfigError(f"a program is a civilian route ({', '.join(sorted(CIVILIAN_ROUTES))}), not {self.route!r}")

    @property
    def availability(self) -> Availability:
        if self.availability_override is not None:
            return self.availability_override
        return self.policy.city(self.city).availability.get(self.route) or Availability()

    @property
    def timezone(self) -> ZoneInfo:
        return self.policy.city(self.city).timezone

    @property
    def area_layer(self) -> str | None:
        """The layer the program's areas are named in (its results are broken down by it)."""
        return min(self.availability.areas, default=None) if self.availability.areas else None

    def schedule(self) -> dict[int, int]:
        """Teams per hour of week, within the program's hours."""
        return team_schedule(self.teams, self.availability.hours)
