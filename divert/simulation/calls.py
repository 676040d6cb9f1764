"""The calls a program's teams are simulated on, and where each call's service time comes from.

A call keeps a team busy for the city's measured on-scene time (arrived → cleared) where the city
recorded both; otherwise for minutes the cost model assumes, and the simulation counts such calls
as *assumed*. Two assumptions are offered, both read from the cost model (``divert/costs``):

- :meth:`AssumedService.on_scene`: one unit's on-scene minutes for the call's category (the
  ``low`` reading of :meth:`divert.costs.model.OnScene.minutes`, units × minutes with one unit):
  the same quantity the measured time is, so measured and assumed calls mix coherently;
- :meth:`AssumedService.team`: the alternative's ``service_minutes`` (travel, on scene, wrap-up),
  the figure the cost tables' Erlang C staffing uses.

>>> from datetime import datetime, UTC
>>> from schemas.records import CadEvent
>>> ev = CadEvent(agency="x", incident_id="1", source="911", initial_type="T",
...               received_at=datetime(2024, 1, 1, 9, tzinfo=UTC), arrived_at=datetime(2024, 1, 1, 9, 10, tzinfo=UTC),
...               cleared_at=datetime(2024, 1, 1, 9, 52, tzinfo=UTC))
>>> measured_minutes(ev)
42.0
>>> from divert.costs.model import load_model
>>> AssumedService.on_scene(load_model("san_antonio")).minutes("WELFARE")
32.4
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from divert.costs.model import Alternative, CostModel
from schemas.records import CadEvent, ClassifiedCall

CITY_WIDE = "all"   # the area of a call when the program's breakdown names no area layer


@dataclass(frozen=True)
class SimCall:
    """One eligible call as the simulation sees it."""

    incident_id: str
    arrival: datetime                 # time zone aware
    area: str = CITY_WIDE
    service_minutes: float | None = None   # measured; None = take the assumed minutes
    apco_code: str | None = None           # chooses the assumed minutes' category


@dataclass(frozen=True)
class AssumedService:
    """Minutes a team is taken to spend on a call the city did not time, and where they come from."""

    source: str
    minutes_for: Callable[[str | None], float]

    def minutes(self, apco_code: str | None) -> float:
        return self.minutes_for(apco_code)

    @classmethod
    def on_scene(cls, model: CostModel) -> AssumedService:
        on_scene = model.on_scene
        return cls(f"one unit's on-scene minutes by call category, {on_scene.file or model.version} "
                   f"({on_scene.source})",
                   lambda code: on_scene.minutes(code, officer_initiated=False).low)

    @classmethod
    def team(cls, alternative: Alternative) -> AssumedService:
        minutes = alternative.service_minutes
        return cls(f"{alternative.name}: {minutes:g} min per call ({alternative.service_source or 'assumed'})",
                   lambda code: minutes)

    @classmethod
    def flat(cls, minutes: float, source: str) -> AssumedService:
        return cls(source, lambda code: minutes)


def measured_minutes(event: CadEvent) -> float | None:
    """On-scene minutes, arrived → cleared, where the city recorded both (and cleared ≥ arrived)."""
    if event.arrived_at is None or event.cleared_at is None or event.cleared_at < event.arrived_at:
        return None
    return (event.cleared_at - event.arrived_at).total_seconds() / 60


def sim_calls(calls: Iterable[ClassifiedCall], area_layer: str | None = None) -> list[SimCall]:
    """The simulation's view of classified calls with a time to the second (a call known to the day
    only cannot be placed in a queue), in arrival order; ``area`` is the value of ``area_layer``."""
    out = [SimCall(c.call.incident_id, c.call.received_at,
                   (c.call.areas.get(area_layer) or "unknown") if area_layer else CITY_WIDE,
                   measured_minutes(c.call), c.apco_code)
           for c in calls if c.call.time_precision == "second"]
    return sorted(out, key=lambda s: s.arrival)
