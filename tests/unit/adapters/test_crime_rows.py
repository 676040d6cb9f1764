"""A history load builds each crime report's stored row straight from the chunk's columns, with no
CrimeReport in between: those rows must be exactly the rows of the reports the row path gives,
and hold only what the schema accepts.

``CrimeAdapter.normalize_chunk_rows`` is compared with ``row_of(CrimeAdapter.normalize(record))``
on real Chicago and Seattle rows with broken ones spliced in; every row it builds must make a
CrimeReport that passes the schema's own checks (UTC times, coordinates at 3 decimals) and its
full validation. The two column-wise shortcuts it takes — coordinates rounded by numpy, local
times converted with an hour's remembered offset — are compared with the exact code they replace.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from divert.adapters.crime import load_crime_adapter
from divert.adapters.crime_columns import _LATITUDE, _LONGITUDE, report_of, row_of
from divert.adapters.reader import read_csv, read_csv_chunks
from divert.adapters.times import _fields_in_zone, _localize, _wall_clock_fields, wall_clock_parser, zone
from divert.adapters.values import coordinate
from divert.exceptions import InvalidRecord
from schemas.records import CrimeReport

from .test_crime_columns import _chicago_with_broken_rows


def _outcome(result):
    if isinstance(result, InvalidRecord):
        return ("invalid", result.reason, result.field, result.detail, result.record_id)
    return result


def _row_path(adapter, path) -> list:
    out = []
    for raw in read_csv(path):
        try:
            out.append(row_of(adapter.normalize(raw)))
        except InvalidRecord as err:
            out.append(_outcome(err))
    return out


def _rows(adapter, path, size: int) -> list:
    return [_outcome(r) for chunk in read_csv_chunks(path, size) for r in adapter.normalize_chunk_rows(chunk)]


def _schema_accepts(row: tuple) -> None:
    report = report_of(row)  # the schema's own checks run as the report is built
    assert row_of(report) == row
    assert msgspec.convert(msgspec.to_builtins(report), CrimeReport) == report  # and its full validation


@pytest.mark.parametrize("size", [7, 600, 5000])
def test_rows_are_the_row_paths_rows_on_real_and_broken_rows(shared_data, tmp_path, size):
    path = _chicago_with_broken_rows(shared_data, tmp_path)
    expected = _row_path(load_crime_adapter("chicago"), path)
    rows = _rows(load_crime_adapter("chicago"), path, size)
    assert rows == expected
    assert len([r for r in rows if r[0] == "invalid"]) >= 8
    for row in rows:
        if row[0] != "invalid":
            _schema_accepts(row)


def test_seattle_rows_with_periods(shared_data):
    adapter = load_crime_adapter("seattle")
    (path,) = adapter.history_files()
    rows = _rows(adapter, path, 1000)
    assert rows == _row_path(load_crime_adapter("seattle"), path)
    assert all(r[4] is not None for r in rows if r[0] != "invalid")
    for row in rows[:500]:
        if row[0] != "invalid":
            _schema_accepts(row)


def test_a_row_keeps_its_report(shared_data, tmp_path):
    path = _chicago_with_broken_rows(shared_data, tmp_path)
    (chunk,) = read_csv_chunks(path, 10_000)
    adapter = load_crime_adapter("chicago")
    reports = adapter.normalize_chunk(chunk)
    assert [r if isinstance(r, InvalidRecord) else row_of(r) for r in reports][:50] == \
        adapter.normalize_chunk_rows(chunk)[:50]


# -- the column-wise shortcuts --------------------------------------------------------------------

_halves = st.integers(-180_000, 180_000).map(lambda k: f"{k / 1000:.3f}5")      # x.xxx5: a decimal tie
_near = st.tuples(st.integers(-180_000, 180_000), st.sampled_from(["4999999", "5000001", "49999999999999",
                                                                      "50000000000001", "0001", "9999"])
                  ).map(lambda kd: f"{kd[0] / 1000:.3f}{kd[1]}")
_texts = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-200, 200).map(repr),
    st.floats(-200, 200).map(lambda x: f"{x:.6f}"),
    _halves, _near,
    st.sampled_from(["", "0", "-0.0004", "0.0005", "-0.0005", "1e400", "nan", "-inf", "north", "1_000.5",
                     " 41.8365 ", "٤١.٨٣٦٥", "90.0004", "90.0005", "-180.0005", "179.9995"]),
    st.text(max_size=6),
)


@settings(max_examples=400, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), _texts), max_size=40))
@example(texts=["41.8365", "-87.6235", "41.8375", "0.0005", None, "41.83650000000001"])
def test_coordinates_at_once_are_coordinate_of_each(texts):
    for column, low, high in ((_LATITUDE, -90.0, 90.0), (_LONGITUDE, -180.0, 180.0)):
        expected = [coordinate(t, low, high) for t in texts]
        got = column.all(texts)
        assert [(type(v), v) for v in got] == [(type(v), v) for v in expected]


def _zones():
    return st.sampled_from(["America/Chicago", "America/Los_Angeles", "Europe/Dublin", "Australia/Lord_Howe",
                            "Asia/Kathmandu", "America/St_Johns", "Pacific/Apia", "Africa/Casablanca",
                            "Antarctica/Troll", "UTC", "Asia/Tehran", "Europe/Moscow"])


_US_12H = "%m/%d/%Y %I:%M:%S %p"


@settings(max_examples=500, deadline=None)
@given(tz_name=_zones(), moment=st.datetimes(min_value=datetime(1850, 1, 1), max_value=datetime(2100, 12, 31)),
       fmt=st.sampled_from([_US_12H, "%Y-%m-%d %H:%M:%S", "%m/%d/%y %H:%M"]))
@example(tz_name="America/Chicago", moment=datetime(2017, 3, 12, 2, 30), fmt=_US_12H)   # in the gap
@example(tz_name="America/Chicago", moment=datetime(2017, 11, 5, 1, 30), fmt=_US_12H)   # in the fold
@example(tz_name="America/Chicago", moment=datetime(1883, 11, 18, 12, 5), fmt=_US_12H)  # LMT, mid-hour
@example(tz_name="Australia/Lord_Howe", moment=datetime(2017, 4, 2, 1, 45), fmt=_US_12H)  # a half-hour shift
@example(tz_name="Pacific/Apia", moment=datetime(2011, 12, 30, 12), fmt=_US_12H)        # a day skipped
def test_remembered_hour_offsets_give_astimezones_time(tz_name, moment, fmt):
    tz = zone(tz_name)
    fields = _wall_clock_fields(fmt)
    parse = _fields_in_zone(fields, tz)
    text = moment.strftime(fmt)
    try:
        expected = _localize(wall_clock_parser(fmt)(text), tz)
    except (ValueError, OverflowError) as exc:
        with pytest.raises(type(exc)):
            parse(text)
        return
    for _ in range(2):  # learning the hour, then remembering it
        got = parse(text)
        assert (got, got.tzinfo, got.utcoffset()) == (expected, expected.tzinfo, expected.utcoffset())


def test_every_second_of_a_dst_day_in_chicago():
    tz = zone("America/Chicago")
    fields = _wall_clock_fields(_US_12H)
    parse = _fields_in_zone(fields, tz)
    for day in ("03/12/2017", "11/05/2017"):
        for second in range(0, 86_400, 7):
            h, rest = divmod(second, 3600)
            text = f"{day} {h % 12 or 12:02d}:{rest // 60:02d}:{rest % 60:02d} {'PM' if h >= 12 else 'AM'}"
            assert parse(text) == _localize(wall_clock_parser(_US_12H)(text), tz)


def test_the_stored_row_is_the_tables_columns():
    from consumers.db.writer import CRIME_COLUMNS

    assert [c for c, _ in CRIME_COLUMNS] == list(CrimeReport.__struct_fields__)


@pytest.mark.parametrize("tz_name, day", [("Australia/Lord_Howe", "10/01/2017"),  # +10:30 → +11 at 02:00
                                          ("America/Chicago", "11/18/1883"),      # LMT → CST at 12:09:24
                                          ("Asia/Kathmandu", "01/01/1986")])      # +5:30 → +5:45
def test_an_hour_with_a_transition_inside_is_never_remembered(tz_name, day):
    tz = zone(tz_name)
    parse = _fields_in_zone(_wall_clock_fields(_US_12H), tz)  # one parser: it remembers every hour it saw
    offsets = set()
    for minute in range(24 * 60):
        h, m = divmod(minute, 60)
        for second in (0, 30, 59):
            text = f"{day} {h % 12 or 12:02d}:{m:02d}:{second:02d} {'PM' if h >= 12 else 'AM'}"
            expected = _localize(wall_clock_parser(_US_12H)(text), tz)
            assert parse(text) == expected
            offsets.add(expected.replace(tzinfo=None) - wall_clock_parser(_US_12H)(text))
    assert len(offsets) == 2
