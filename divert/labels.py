"""Names people read: routes, areas and times in a city's local time.

>>> route_name("ems_fire"), route_name("crisis"), route_name("something_new")
('EMS / fire', 'crisis team', 'something new')
>>> from datetime import UTC, datetime
>>> local(datetime(2024, 7, 1, 18, 30, tzinfo=UTC), "America/Chicago")
'2024-07-01 13:30 CDT'
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from divert.evaluation.report import area_name  # noqa: F401  (re-exported: 'NORTH' -> 'North')

ROUTE_NAMES = {
    "crisis": "crisis team",
    "navigator": "civilian navigator",
    "co_response": "officer with a clinician",
    "police": "police",
    "ems_fire": "EMS / fire",
    "admin": "administrative",
    "officer_initiated": "officer-initiated",
}


def route_name(route: str) -> str:
    return ROUTE_NAMES.get(route, str(route).replace("_", " "))


def local(t: datetime, tz: str, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """An instant as the city's clock shows it."""
    return t.astimezone(ZoneInfo(tz)).strftime(fmt)
