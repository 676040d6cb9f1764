"""The outcomes a program can be evaluated on, and how each is counted per area and day.

Each outcome is a filter or an aggregate over ``call_areas`` rows (one per call per area
layer), written here once so the report, the database query and the dashboard agree.
Officer-initiated calls never count as community demand.

>>> OUTCOMES["police_calls_eligible"].kind, OUTCOMES["response_p90"].kind
('count', 'continuous')
>>> describe("calls_by_route", ["crisis", "navigator"])
'community calls routed to crisis or navigator, per day'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from divert.exceptions import ConfigError


@dataclass(frozen=True)
class Outcome:
    name: str
    kind: str           # 'count' (adds up over areas; WDD applies) or 'continuous'
    description: str    # plain words, for the report
    unit: str
    sql_value: str      # aggregate over call_areas rows of one area and day; $routes = text[]
    lower_is_better: bool = True


COMMUNITY = "source <> 'officer_initiated'"
RESPONSE = ("extract(epoch from arrived_at - received_at) / 60.0")

OUTCOMES = {o.name: o for o in (
    Outcome("police_calls_eligible", "count",
            "diversion-eligible calls still handled by police, per day", "calls per day",
            f"count(*) filter (where {COMMUNITY} and eligible)"),
    Outcome("calls_by_route", "count", "community calls routed to {routes}, per day", "calls per day",
            f"count(*) filter (where {COMMUNITY} and route = any($routes::text[]))"),
    Outcome("calls", "count", "community calls (911, non-emergency, alarm), per day", "calls per day",
            f"count(*) filter (where {COMMUNITY})"),
    Outcome("officer_initiated", "count", "officer-initiated calls, per day", "calls per day",
            "count(*) filter (where source = 'officer_initiated')", lower_is_better=False),
    Outcome("response_p90", "continuous",
            "the 90th percentile of police response time (minutes from call to arrival)", "minutes",
            f"percentile_cont(0.9) within group (order by {RESPONSE}) filter (where {COMMUNITY} "
            "and time_precision = 'second' and arrived_at >= received_at)"),
)}


def get(name: str) -> Outcome:
    try:
        return OUTCOMES[name]
    except KeyError:
        raise ConfigError(f"unknown outcome {name!r}; choose one of: {', '.join(OUTCOMES)}") from None


def describe(name: str, routes: Sequence[str] = ()) -> str:
    text = get(name).description
    return text.replace("{routes}", " or ".join(routes) if routes else "the program's routes")
