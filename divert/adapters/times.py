"""Time parsing for city adapters: every parser returns an aware UTC datetime.

Local wall-clock times are read in the city's IANA zone with ``fold=0``, which fixes the
two DST edge cases:

* an *ambiguous* time (the repeated hour when clocks fall back) is the first occurrence,
  i.e. still daylight time: 2022-11-06 01:30 America/Chicago -> 06:30 UTC;
* a *non-existent* time (the hour skipped when clocks spring forward) is read with the
  offset in force before the gap, i.e. shifted forward by the gap:
  2022-03-13 02:30 America/Chicago -> 08:30 UTC (= 03:30 CDT).

>>> p = time_parser(["%m/%d/%Y %I:%M:%S %p"], "America/Los_Angeles")
>>> p("11/04/2023 6:08:26 PM").isoformat()  # unpadded 12-hour, the day before fall-back
'2023-11-05T01:08:26+00:00'
>>> time_parser(["epoch_ms"], "UTC")("1667278839000").isoformat()
'2022-11-01T05:00:39+00:00'
>>> time_parser(["iso"], "America/Chicago")("2022-11-06 01:30:00").isoformat()
'2022-11-06T06:30:00+00:00'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

TimeParser = Callable[[str], datetime]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# epoch values outside 1990..2100 are a unit mix-up (seconds sent for ms lands in 1970) or
# garbage: no CAD export reaches back before 1990
_EPOCH_MS_MIN = 631_152_000_000
_EPOCH_MS_MAX = 4_102_444_800_000


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _epoch_ms(text: str) -> datetime:
    try:
        ms = int(text)
    except ValueError:
        value = float(text)  # "1667278839000.0" from a client that sent a JSON float
        if not value.is_integer():
            raise ValueError(f"not whole milliseconds: {text!r}") from None
        ms = int(value)
    if not _EPOCH_MS_MIN <= ms < _EPOCH_MS_MAX:
        raise ValueError(f"epoch milliseconds out of range 1990..2100: {text!r}")
    # integer arithmetic: exact, and no float rounding of the milliseconds
    return _EPOCH + timedelta(milliseconds=ms)


def _epoch_s(text: str) -> datetime:
    value = float(text)
    if not _EPOCH_MS_MIN / 1000 <= value < _EPOCH_MS_MAX / 1000:
        raise ValueError(f"epoch seconds out of range 1990..2100: {text!r}")
    return _EPOCH + timedelta(seconds=value)


# strptime's own patterns for the directives CAD exports use (CPython's _strptime.TimeRE, C locale):
# a format made only of these and literal text is parsed by one regex match instead of strptime,
# which re-checks the locale and takes a lock on every call (a third of a crime load's time)
_DIRECTIVES = {
    "Y": r"(?P<Y>\d\d\d\d)",
    "y": r"(?P<y>\d\d)",
    "m": r"(?P<m>1[0-2]|0[1-9]|[1-9])",
    "d": r"(?P<d>3[01]|[12]\d|0[1-9]|[1-9]| [1-9])",
    "H": r"(?P<H>2[0-3]|[01]\d|\d)",
    "I": r"(?P<I>1[0-2]|0[1-9]|[1-9])",
    "M": r"(?P<M>[0-5]\d|\d)",
    "S": r"(?P<S>6[01]|[0-5]\d|\d)",
    "p": r"(?P<p>am|pm)",
}
_DIRECTIVE = re.compile(r"%(.)")
# what every directive but %Y matches (one or two digits, or a space and one): int() of each, looked up
_SMALL = {text: int(text) for n in range(100) for text in {str(n), f"{n:02d}", f" {n}"}}


def _literal(text: str) -> str:
    # strptime reads any run of whitespace in the format as \s+
    return r"\s+".join(re.escape(part) for part in re.split(r"\s+", text))


def wall_clock_parser(fmt: str) -> Callable[[str], datetime]:
    """``datetime.strptime(text, fmt)`` — the same results and the same ValueErrors — by one regex
    where ``fmt`` uses only %Y %y %m %d %H %I %M %S %p (each at most once), else strptime itself.

    >>> wall_clock_parser("%m/%d/%Y %I:%M:%S %p")("1/2/2019 12:05:00 am")
    datetime.datetime(2019, 1, 2, 0, 5)
    >>> wall_clock_parser("%m/%d/%Y %I:%M:%S %p")("13/2/2019 12:05:00 AM")
    Traceback (most recent call last):
    ...
    ValueError: time data '13/2/2019 12:05:00 AM' does not match format '%m/%d/%Y %I:%M:%S %p'
    """
    fields = _wall_clock_fields(fmt)
    if fields is None:
        return lambda text: datetime.strptime(text, fmt)
    return lambda text: datetime(*fields(text))


def _wall_clock_fields(fmt: str) -> Callable[[str], tuple[int, int, int, int, int, int]] | None:
    """(year, month, day, hour, minute, second) of a text in ``fmt`` by one regex (ValueError where
    it does not match), or None where ``fmt`` needs strptime (see :func:`wall_clock_parser`)."""
    names = _DIRECTIVE.findall(fmt)
    if not names or any(n not in _DIRECTIVES for n in names) or len(set(names)) < len(names) \
            or ("p" in names) != ("I" in names) or "H" in names and "I" in names \
            or "Y" in names and "y" in names:
        return None
    pieces, at = [], 0
    for m in _DIRECTIVE.finditer(fmt):
        pieces += [_literal(fmt[at:m.start()]), _DIRECTIVES[m.group(1)]]
        at = m.end()
    pieces.append(_literal(fmt[at:]))
    match = re.compile("".join(pieces), re.IGNORECASE).fullmatch

    at = {name: i for i, name in enumerate(names)}  # the regex's groups, in the format's order
    year4, year2, month, day, hour24, hour12, minute, second, ampm = (at.get(n) for n in "YymdHIMSp")

    def read(g: tuple[str, ...], number: Callable[[str], int]) -> tuple[int, int, int, int, int, int]:
        if hour12 is not None:
            hour = number(g[hour12]) % 12 + (12 if g[ampm].lower() == "pm" else 0)
        else:
            hour = number(g[hour24]) if hour24 is not None else 0
        if year2 is not None:  # strptime's POSIX rule: 69-99 are 1969-1999, 00-68 are 2000-2068
            year = number(g[year2]) + (1900 if number(g[year2]) >= 69 else 2000)
        else:
            year = int(g[year4]) if year4 is not None else 1900
        return (year, number(g[month]) if month is not None else 1, number(g[day]) if day is not None else 1,
                hour, number(g[minute]) if minute is not None else 0,
                number(g[second]) if second is not None else 0)

    def fields(text: str) -> tuple[int, int, int, int, int, int]:
        found = match(text)
        if found is None:
            raise ValueError(f"time data {text!r} does not match format {fmt!r}")
        g = found.groups()
        try:
            return read(g, _SMALL.__getitem__)
        except KeyError:  # digits of another script: \d matches them, as strptime's does, and int() reads them
            return read(g, int)

    return fields


def _localize(dt: datetime, tz: ZoneInfo) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)  # fold=0: see the module docstring for the DST rule
    return dt.astimezone(UTC)


def _localized(wall_clock: Callable[[str], datetime], tz: ZoneInfo) -> TimeParser:
    return lambda text: _localize(wall_clock(text), tz)


class _HourOffsets:
    """The zone's UTC offset (fold=0) of a local hour, remembered: attaching a ZoneInfo and
    converting took most of a wall-clock time's parsing, and rows share hours far more than times.
    An hour holding a transition — its first and last microsecond apart in offset — is never
    remembered (no zone changes its offset twice within an hour)."""

    _MAX = 65_536  # hours remembered, at most (about 7 years): then forgotten and learned again

    def __init__(self, tz: ZoneInfo):
        self.tz = tz
        self.known: dict[tuple[int, int, int, int], timedelta | None] = {}

    def of(self, year: int, month: int, day: int, hour: int, minute: int, second: int) -> timedelta:
        key = (year, month, day, hour)
        offset = self.known.get(key, _UNSEEN)
        if offset is _UNSEEN:
            first = datetime(year, month, day, hour, tzinfo=self.tz).utcoffset()
            last = datetime(year, month, day, hour, 59, 59, 999_999, tzinfo=self.tz).utcoffset()
            if len(self.known) >= self._MAX:
                self.known.clear()
            offset = self.known[key] = first if first == last else None
        if offset is None:
            return datetime(year, month, day, hour, minute, second, tzinfo=self.tz).utcoffset()
        return offset


_UNSEEN = object()


def _fields_in_zone(fields: Callable[[str], tuple[int, int, int, int, int, int]], tz: ZoneInfo) -> TimeParser:
    """``_localize(datetime(*fields(text)), tz)``, the same datetime and errors, with the offset of
    the local hour remembered (``astimezone(UTC)`` is exactly the wall time less its offset)."""
    offsets = _HourOffsets(tz)
    known = offsets.known

    def parse(text: str) -> datetime:
        y, mo, d, h, mi, s = fields(text)
        at = datetime(y, mo, d, h, mi, s, tzinfo=UTC)  # a day or time that does not exist: ValueError
        if (offset := known.get((y, mo, d, h))) is None:  # not yet learned, or a transition's hour
            offset = offsets.of(y, mo, d, h, mi, s)
        return at - offset

    return parse


def time_parser(formats: list[str], tz_name: str) -> TimeParser:
    """One parser for a column: formats tried in order; raises ValueError if none fits."""
    tz = zone(tz_name)
    if formats == ["epoch_ms"]:
        return _epoch_ms  # the hot path (San Antonio): no loop, no strptime
    steps: list[TimeParser] = []
    for fmt in formats:
        if fmt == "epoch_ms":
            steps.append(_epoch_ms)
        elif fmt == "epoch_s":
            steps.append(_epoch_s)
        elif fmt == "iso":
            steps.append(lambda text: _localize(datetime.fromisoformat(text), tz))
        elif (fields := _wall_clock_fields(fmt)) is not None:
            steps.append(_fields_in_zone(fields, tz))
        else:
            steps.append(_localized(wall_clock_parser(fmt), tz))
    if len(steps) == 1:
        parse = steps[0]
    else:
        def parse(text: str) -> datetime:
            for step in steps:
                try:
                    return step(text)
                except (ValueError, OverflowError):
                    continue
            raise ValueError(f"{text!r} matches none of {formats}")

    # rows come roughly in time order and many share a clock reading (Chicago's 498k crime rows
    # hold 223k distinct times): the recent ones are remembered (a ValueError is not)
    return lru_cache(maxsize=4096)(parse)
