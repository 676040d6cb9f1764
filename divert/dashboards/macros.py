"""Expand a panel's SQL the way Grafana does before it reaches PostgreSQL.

Two stages, in Grafana's order:

1. the frontend's template interpolation (``templateSrv.replace`` with the SQL data source's
   ``interpolateVariable``): ``$var``, ``${var}``, ``${var:format}``, ``[[var]]`` and the
   built-ins ``$__interval``, ``$__interval_ms``, ``$__from``, ``$__to``, ``$__range_s``;
2. the backend's macro engine (``pkg/tsdb/grafana-postgresql-datasource/macros.go``):
   ``$__timeFilter(col)``, ``$__timeFrom()``, ``$__timeTo()``, ``$__timeGroup(col, '5m')``,
   ``$__timeGroupAlias``, ``$__unixEpochFilter(col)``, ``$__unixEpochFrom()``, ... .

Quoting is Grafana's: a single-valued variable has its ``'`` doubled but is not wrapped (the
panel writes ``'$city'``); a multi-valued or include-All variable becomes a comma-separated
list of quoted literals (the panel writes ``in ($area)``); ``:sqlstring`` always quotes;
``:csv`` and ``:raw`` never do (unsafe for text — ``divert dashboards check`` refuses them).

>>> from datetime import datetime, UTC
>>> tr = TimeRange(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC))
>>> city = Variable("city", "san_antonio")
>>> area = Variable("area", ["NORTH", "O'Brien"], multi=True)
>>> expand("select 1 from t where agency = '$city' and area in ($area) and $__timeFilter(bucket)",
...        tr, [city, area])
"select 1 from t where agency = 'san_antonio' and area in ('NORTH','O''Brien') and bucket BETWEEN '2024-05-01T00:00:00Z' AND '2024-05-02T00:00:00Z'"
>>> expand("$__timeGroupAlias(bucket, '1h')", tr, [], timescaledb=True)
'time_bucket(\\'3600.000s\\',bucket) AS "time"'
>>> expand("$__timeGroup(bucket, $__interval)", tr, [], interval_ms=300_000)
'floor(extract(epoch from bucket)/300)*300'
>>> expand("${area:csv} | ${area:sqlstring} | $__interval_ms", tr, [area], interval_ms=60_000)
"NORTH,O'Brien | 'NORTH','O''Brien' | 60000"
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from divert.exceptions import DivertError


class MacroError(DivertError):
    """A panel's SQL uses a macro or variable that Grafana could not expand."""


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    def __post_init__(self):
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a time range needs timezone-aware datetimes")


@dataclass(frozen=True)
class Variable:
    """A template variable's current value, as Grafana holds it.

    ``value`` is a string for a single selection, a list for a multi selection; with
    ``include_all`` and ``value == ALL``, ``options`` (every option's value) stand in, unless
    ``all_value`` (the variable's custom all value) is set, which Grafana inserts as written.
    """

    name: str
    value: str | Sequence[str]
    multi: bool = False
    include_all: bool = False
    options: tuple[str, ...] = ()
    all_value: str | None = None


ALL = "$__all"

# Grafana's variable regex (public/app/features/variables/utils.ts)
_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}")
# macros.go: \$([_a-zA-Z0-9]+)\(([^\)]*)\)
_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")


def _rfc3339nano(t: datetime) -> str:
    """Go's time.RFC3339Nano for a UTC time: trailing zeros of the fraction dropped.

    >>> _rfc3339nano(datetime(2024, 5, 1, 3, 4, 5, 120000, tzinfo=UTC))
    '2024-05-01T03:04:05.12Z'
    """
    t = t.astimezone(UTC)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        text += ("." + f"{t.microsecond:06d}").rstrip("0")
    return text + "Z"


def format_interval(ms: int) -> str:
    """Go's gtime.FormatInterval (what ``$__interval`` becomes).

    >>> [format_interval(x) for x in (500, 15_000, 300_000, 7_200_000, 86_400_000 * 7)]
    ['500ms', '15s', '5m', '2h', '7d']
    """
    units = ((365 * 86_400_000, "y"), (86_400_000, "d"), (3_600_000, "h"), (60_000, "m"),
             (1000, "s"), (1, "ms"))
    for size, suffix in units:
        if ms >= size:
            return f"{ms // size}{suffix}"
    return "1ms"


_INTERVAL = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|M|y)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
            "w": 7 * 86_400_000, "M": 30 * 86_400_000, "y": 365 * 86_400_000}


def parse_interval(text: str) -> int:
    """Milliseconds in a Grafana interval such as ``'5m'`` (gtime.ParseInterval).

    >>> parse_interval("'1h'"), parse_interval("30s")
    (3600000, 30000)
    """
    m = _INTERVAL.match(text.strip().strip("'"))
    if not m:
        raise MacroError(f"error parsing interval {text}")
    return int(float(m.group(1)) * _UNIT_MS[m.group(2)])


# rangeutil.roundInterval: (upper bound exclusive, rounded value), in ms
_ROUND = ((15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
          (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000),
          (45000, 30000), (90000, 60000), (210000, 120000), (450000, 300000), (750000, 600000),
          (1050000, 900000), (1500000, 1200000), (2700000, 1800000), (5400000, 3600000),
          (9000000, 7200000), (16200000, 10800000), (32400000, 21600000), (86400000, 43200000),
          (604800000, 86400000), (1814400000, 604800000), (3628800000, 2592000000))


def auto_interval_ms(time_range: TimeRange, max_data_points: int = 1000, min_interval: str | None = None) -> int:
    """The ``$__interval`` Grafana picks: range / max data points, rounded, at least the
    data source's (or panel's) minimum interval.

    >>> day = TimeRange(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC))
    >>> format_interval(auto_interval_ms(day)), format_interval(auto_interval_ms(day, min_interval="1m"))
    ('1m', '1m')
    >>> format_interval(auto_interval_ms(day, max_data_points=24))
    '1h'
    """
    raw = (time_range.end - time_range.start) / timedelta(milliseconds=1) / max(max_data_points, 1)
    rounded = next((value for bound, value in _ROUND if raw < bound), 31536000000)
    if min_interval:
        rounded = max(rounded, parse_interval(min_interval))
    return max(int(rounded), 1)


def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _values(var: Variable) -> tuple[list[str] | str, bool]:
    """The variable's value(s) and whether it is Grafana's custom all value (inserted raw)."""
    value = var.value
    is_all = value == ALL or (isinstance(value, list | tuple) and list(value) == [ALL])
    if is_all:
        if var.all_value is not None:
            return var.all_value, True
        return list(var.options), False
    return (list(value) if isinstance(value, list | tuple) else value), False


def _format(var: Variable, fmt: str | None) -> str:
    value, raw_all = _values(var)
    if raw_all and fmt not in ("text", "percentencode"):
        return str(value)
    if fmt is None:  # the SQL data source's interpolateVariable
        if isinstance(value, str):
            return _quote(value) if (var.multi or var.include_all) else value.replace("'", "''")
        return ",".join(_quote(v) for v in value)
    items = [value] if isinstance(value, str) else value
    if fmt == "sqlstring":
        return ",".join(_quote(v) for v in items)
    if fmt in ("csv", "raw", "text"):
        return ",".join(str(v) for v in items)
    if fmt == "singlequote":
        return ",".join("'" + str(v).replace("'", "\\'") + "'" for v in items)
    if fmt == "doublequote":
        return ",".join('"' + str(v).replace('"', '\\"') + '"' for v in items)
    if fmt == "pipe":
        return "|".join(str(v) for v in items)
    raise MacroError(f"variable format {fmt!r} is not supported here")


def variable_references(sql: str) -> list[tuple[str, str | None]]:
    """(name, format) of every template variable reference, built-ins included.

    >>> variable_references("x in ($area) and '${city:sqlstring}' and [[layer]] and $__timeFilter(t)")
    [('area', None), ('city', 'sqlstring'), ('layer', None), ('__timeFilter', None)]
    """
    out = []
    for m in _VARIABLE.finditer(sql):
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(6)
        out.append((name, fmt))
    return out


def interpolate(sql: str, variables: Iterable[Variable], *, time_range: TimeRange,
                interval_ms: int) -> str:
    """Grafana's frontend stage: template variables and the interval built-ins."""
    by_name = {v.name: v for v in variables}
    start_ms = int(time_range.start.timestamp() * 1000)
    end_ms = int(time_range.end.timestamp() * 1000)
    builtins = {
        "__interval": format_interval(interval_ms), "__interval_ms": str(interval_ms),
        "__from": str(start_ms), "__to": str(end_ms),
        "__range_s": str((end_ms - start_ms) // 1000), "__range_ms": str(end_ms - start_ms),
        "__range": format_interval(end_ms - start_ms),
    }

    def replace(m: re.Match) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(6)
        if name in by_name:
            return _format(by_name[name], fmt)
        if name in builtins:
            return builtins[name]
        return m.group(0)  # unknown: Grafana leaves it for the backend (macros) or as text

    return _VARIABLE.sub(replace, sql)


def _seconds(ms: int) -> str:
    # Go's %v of a float64 seconds value: 300 -> "300", 0.5 -> "0.5"
    s = ms / 1000
    return str(int(s)) if s == int(s) else repr(s)


def expand_macros(sql: str, time_range: TimeRange, *, timescaledb: bool = False) -> str:
    """The PostgreSQL data source's backend stage (macros.go), on already interpolated SQL."""
    start, end = time_range.start, time_range.end
    sql = (sql.replace("$__unixEpochFrom()", str(int(start.timestamp())))
              .replace("$__unixEpochTo()", str(int(end.timestamp()))))
    source = sql

    def evaluate(name: str, args: list[str]) -> str:
        if name == "__time":
            return f'{_arg(name, args)} AS "time"'
        if name == "__timeEpoch":
            return f'extract(epoch from {_arg(name, args)}) as "time"'
        if name == "__timeFilter":
            return f"{_arg(name, args)} BETWEEN '{_rfc3339nano(start)}' AND '{_rfc3339nano(end)}'"
        if name == "__timeFrom":
            return f"'{_rfc3339nano(start)}'"
        if name == "__timeTo":
            return f"'{_rfc3339nano(end)}'"
        if name in ("__timeGroup", "__unixEpochGroup"):
            if len(args) < 2:
                raise MacroError(f"macro {name} needs time column and interval and optional fill value")
            ms = parse_interval(args[1])
            if name == "__unixEpochGroup":
                return f"floor(({args[0]})/{_seconds(ms)})*{_seconds(ms)}"
            if timescaledb:
                return f"time_bucket('{ms / 1000:.3f}s',{args[0]})"
            return f"floor(extract(epoch from {args[0]})/{_seconds(ms)})*{_seconds(ms)}"
        if name in ("__timeGroupAlias", "__unixEpochGroupAlias"):
            return evaluate(name.removesuffix("Alias"), args) + ' AS "time"'
        if name == "__unixEpochFilter":
            col = _arg(name, args)
            return f"{col} >= {int(start.timestamp())} AND {col} <= {int(end.timestamp())}"
        if name == "__unixEpochNanoFilter":
            col = _arg(name, args)
            return f"{col} >= {_nanos(start)} AND {col} <= {_nanos(end)}"
        if name == "__unixEpochNanoFrom":
            return str(_nanos(start))
        if name == "__unixEpochNanoTo":
            return str(_nanos(end))
        raise MacroError(f"unknown macro {name!r}")

    def replace(m: re.Match) -> str:
        name = m.group(1)
        # macros.go: $__timeGroup directly followed by ',' is the pre-5.3 form, with an alias
        if name == "__timeGroup":
            at = source.find(m.group(0))
            if at >= 0 and source[at + len(m.group(0)):at + len(m.group(0)) + 1] == ",":
                name = "__timeGroupAlias"
        return evaluate(name, [a.strip(" ") for a in m.group(2).split(",")])

    return _MACRO.sub(replace, sql)


def _arg(name: str, args: list[str]) -> str:
    if not args or not args[0]:
        raise MacroError(f"missing time column argument for macro {name}")
    return args[0]


def _nanos(t: datetime) -> int:
    return int(math.floor(t.timestamp())) * 1_000_000_000 + t.microsecond * 1000


def expand(sql: str, time_range: TimeRange, variables: Iterable[Variable] = (), *,
           timescaledb: bool = False, interval_ms: int | None = None) -> str:
    """Both stages: the SQL the PostgreSQL server receives from Grafana."""
    if interval_ms is None:
        interval_ms = auto_interval_ms(time_range)
    text = interpolate(sql, variables, time_range=time_range, interval_ms=interval_ms)
    return expand_macros(text, time_range, timescaledb=timescaledb)
