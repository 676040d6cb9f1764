"""Alerts in a manager's words (:func:`alert_text`), times local to the agency."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from divert.spikes.settings import CITY_LAYER
from divert.spikes.windows import SeriesKey


def _duration(minutes: int) -> str:
    """
    >>> _duration(90), _duration(45), _duration(120)
    ('90 minutes', '45 minutes', '2 hours')
    """
    if minutes % 60 == 0 and minutes >= 120:
        return f"{minutes // 60} hours"
    return f"{minutes} minutes"


def alert_text(state: str, key: SeriesKey, observed: float, expected: float, low: float, high: float,
               start: datetime, end: datetime, timezone: str, event: str | None = None) -> str:
    """An alert in a manager's words, times local to the agency.

    >>> from datetime import UTC, timedelta
    >>> t = datetime(2025, 3, 4, 20, 0, tzinfo=UTC)
    >>> alert_text("firing", SeriesKey("substation", "NORTH", "crisis"), 32, 9.2, 3, 17, t,
    ...            t + timedelta(minutes=90), "America/Chicago")
    '+23 crisis-eligible calls in the last 90 minutes in substation NORTH, 9 expected (32 received since 14:00 CST; normal 3–17)'
    """
    tz = ZoneInfo(timezone)
    where = "the whole city" if key.layer == CITY_LAYER else f"{key.layer} {key.area}"
    minutes = int(round((end - start).total_seconds() / 60))
    since = start.astimezone(tz).strftime("%H:%M %Z")
    if start.astimezone(tz).date() != end.astimezone(tz).date():
        since = start.astimezone(tz).strftime("%a %H:%M %Z")
    label = f" during {event}" if event else ""
    if state == "firing":
        extra = int(round(observed - expected))
        return (f"{extra:+d} {key.route}-eligible calls in the last {_duration(minutes)} in {where}, "
                f"{expected:.0f} expected ({observed:.0f} received since {since}; normal {low:.0f}–{high:.0f})"
                f"{label}")
    return (f"{key.route}-eligible calls back to normal in {where}{label}: the spike from {since} lasted "
            f"{_duration(minutes)}, {observed:.0f} calls against {expected:.0f} expected")
