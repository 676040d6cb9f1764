"""Declared events: surges a city knows are coming (holidays, fireworks nights, a festival).

``reference/events/<agency>.yaml`` lists them in the agency's local time::

    events:
      - name: Independence Day fireworks
        yearly: "07-04"          # every year on this month-day ...
        from: "12:00"            # ... from this local time (default 00:00)
        hours: 18                # for this long (default 24)
      - name: Labor Day
        dates: [2024-09-02, 2025-09-01]

The detector reads them so a known surge is labelled, not hidden: an alert raised while an
event is on carries its name (``Alert.event``), windows inside an event are not learned as
normal volume, and false-alert counts are reported without them and separately.

>>> cal = Calendar.from_dict({"events": [{"name": "July 4th", "yearly": "07-04", "from": "12:00", "hours": 18}]},
...                          "America/Chicago")
>>> from datetime import datetime, UTC
>>> cal.event_at(datetime(2025, 7, 5, 3, tzinfo=UTC))   # 22:00 local on the 4th
'July 4th'
>>> cal.event_at(datetime(2025, 7, 4, 3, tzinfo=UTC)) is None   # 22:00 local on the 3rd
True
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from divert import reference
from divert.adapters.reader import read_yaml
from divert.exceptions import ConfigError

YEARS = range(2000, 2101)  # yearly events are expanded over these years


@dataclass(frozen=True)
class Calendar:
    """Declared events of one agency as sorted, non-overlapping UTC intervals with names."""

    starts: tuple[datetime, ...] = ()
    ends: tuple[datetime, ...] = ()
    names: tuple[str, ...] = ()
    source: str = field(default="", compare=False)

    @classmethod
    def from_dict(cls, data: dict | None, timezone: str, source: str = "") -> Calendar:
        tz = ZoneInfo(timezone)
        spans: list[tuple[datetime, datetime, str]] = []
        for i, ev in enumerate((data or {}).get("events") or []):
            where = f"{source or 'events'}: event {i + 1}"
            if not isinstance(ev, dict) or not str(ev.get("name") or "").strip():
                raise ConfigError(f"{where}: needs a name")
            name = str(ev["name"]).strip()[:120]
            try:
                start_time = time.fromisoformat(str(ev.get("from", "00:00")))
                hours = float(ev.get("hours", 24))
                days: list[date] = [d if isinstance(d, date) else date.fromisoformat(str(d))
                                    for d in ev.get("dates") or []]
                if ev.get("yearly"):
                    month, day = (int(x) for x in str(ev["yearly"]).split("-"))
                    days += [date(y, month, day) for y in YEARS]
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"{where} ({name}): {exc}") from exc
            if not days or not 0 < hours <= 24 * 14:
                raise ConfigError(f"{where} ({name}): give dates or yearly, and hours in (0, 336]")
            for d in days:
                start = datetime.combine(d, start_time, tz).astimezone(UTC)
                spans.append((start, start + timedelta(hours=hours), name))
        spans.sort()
        merged: list[list] = []
        for s, e, n in spans:
            if merged and s < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e, n])
        return cls(tuple(m[0] for m in merged), tuple(m[1] for m in merged), tuple(m[2] for m in merged), source)

    def event_at(self, t: datetime) -> str | None:
        """The event on at ``t``, if any."""
        i = bisect.bisect_right(self.starts, t) - 1
        return self.names[i] if i >= 0 and t < self.ends[i] else None

    def overlapping(self, start: datetime, end: datetime) -> str | None:
        """The first event overlapping [start, end), if any."""
        i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        while i < len(self.starts) and self.starts[i] < end:
            if self.ends[i] > start:
                return self.names[i]
            i += 1
        return None

    def __len__(self) -> int:
        return len(self.starts)


def events_path(agency: str) -> Path:
    return reference.folder("events") / f"{agency}.yaml"


@lru_cache(maxsize=64)
def load_calendar(agency: str, timezone: str, path: Path | None = None) -> Calendar:
    """The agency's declared events (an empty calendar when it declares none)."""
    path = path or events_path(agency)
    if not path.is_file():
        return Calendar(source=str(path))
    return Calendar.from_dict(read_yaml(path), timezone, str(path))
