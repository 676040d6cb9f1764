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


def week_hours(hours) -> str:
    """Hours of week (0 = Monday 00h) as people read them; None = every hour.

    >>> week_hours(None), week_hours({d * 24 + h for d in range(7) for h in range(7, 23)})
    ('all hours', 'Mon–Sun 07:00–23:00')
    >>> week_hours({7, 8, 24 + 9})
    'Mon 07:00–09:00; Tue 09:00–10:00'
    """
    if hours is None or len(set(hours)) == 168:
        return "all hours"
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

    def runs(day: int) -> str:
        hs = sorted(h % 24 for h in hours if h // 24 == day)
        out, start = [], None
        for i, h in enumerate(hs):
            start = h if start is None else start
            if i + 1 == len(hs) or hs[i + 1] != h + 1:
                out.append(f"{start:02d}:00–{h + 1:02d}:00")
                start = None
        return ", ".join(out)

    per_day = [runs(d) for d in range(7)]
    groups: list[tuple[int, int, str]] = []
    for d, text in enumerate(per_day):
        if groups and groups[-1][2] == text and groups[-1][1] == d - 1:
            groups[-1] = (groups[-1][0], d, text)
        else:
            groups.append((d, d, text))
    return "; ".join(f"{days[a]}{'–' + days[b] if b > a else ''} {text}" for a, b, text in groups if text)
