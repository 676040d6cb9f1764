"""Periods a person types: dates in a city's local time, window lengths, a city's time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from divert.exceptions import ConfigError

_DURATION = re.compile(r"^(\d+)\s*([dhw])$")

# every window divert keeps (metric buckets, spike windows) is aligned on this instant, a Monday
# at 00:00 UTC, as TimescaleDB's time_bucket is: the stream, the database and Grafana agree
WINDOW_ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)
WINDOW_ORIGIN_SQL = f"timestamptz '{WINDOW_ORIGIN:%Y-%m-%d %H:%M:%S}+00'"


def parse_window(text: str | None) -> timedelta | None:
    """'90d', '12h', '2w' → timedelta; 'all' or None → one window over the whole span.

    >>> parse_window("90d"), parse_window("all")
    (datetime.timedelta(days=90), None)
    """
    if text is None or text == "all":
        return None
    m = _DURATION.match(text.strip())
    if not m or int(m[1]) == 0:
        raise ConfigError(f"window {text!r}: expected a positive duration such as 90d, 12h or 2w, or 'all'")
    n, unit = int(m[1]), m[2]
    return timedelta(days=n) if unit == "d" else timedelta(hours=n) if unit == "h" else timedelta(weeks=n)


def local_time(text: str | None, tz: str) -> datetime | None:
    """ISO date/time; without an offset it is the city's local time.

    >>> local_time("2010-01-01", "America/Los_Angeles").isoformat()
    '2010-01-01T08:00:00+00:00'
    """
    if text is None:
        return None
    from zoneinfo import ZoneInfo

    try:
        t = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{text!r} is not an ISO date or time (e.g. 2019-01-01 or 2019-01-01T06:00)") from exc
    return (t if t.tzinfo else t.replace(tzinfo=ZoneInfo(tz))).astimezone(UTC)


def local_span(start: str | None, end: str | None, tz: str) -> tuple[datetime | None, datetime | None]:
    """--from / --to as UTC instants (either may be open); the start must come first.

    >>> local_span("2024-01-02", "2024-01-01", "UTC")
    Traceback (most recent call last):
    ...
    divert.exceptions.ConfigError: --from 2024-01-02 is not before --to 2024-01-01
    """
    start_t, end_t = local_time(start, tz), local_time(end, tz)
    if start_t and end_t and start_t >= end_t:
        raise ConfigError(f"--from {start} is not before --to {end}")
    return start_t, end_t


def city_timezone(city: str) -> str:
    """The time zone of a city with a call mapping or a crime mapping (declared once, there)."""
    from divert import reference

    zone = reference.city_timezone(city)
    if zone is None:
        raise ConfigError(f"no mapping for city {city!r} in reference/cities/ or reference/crime/")
    return zone
