from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from divert.adapters.times import time_parser

from .conftest import utc

US_12H = "%m/%d/%Y %I:%M:%S %p"


def test_padded_and_unpadded_12_hour():
    parse = time_parser([US_12H], "America/Los_Angeles")
    assert parse("08/19/2011 09:16:27 PM") == parse("08/19/2011 9:16:27 PM") == utc(2011, 8, 20, 4, 16, 27)
    assert parse("01/01/2020 12:00:01 AM") == utc(2020, 1, 1, 8, 0, 1)


def test_12_and_24_hour_mix_tried_in_order():
    # San Antonio's Time column: "11:00:17 PM" and " 6:02:35" (24-hour, no AM/PM)
    parse = time_parser(["%m/%d/%y %I:%M:%S %p", "%m/%d/%y %H:%M:%S"], "America/Chicago")
    assert parse("11/01/22 11:00:17 PM") == utc(2022, 11, 2, 4, 0, 17)
    assert parse("11/01/22 6:02:35") == utc(2022, 11, 1, 11, 2, 35)
    assert parse("11/01/22 18:02:35") == utc(2022, 11, 1, 23, 2, 35)
    with pytest.raises(ValueError):
        parse("11/01/22 25:02:35")


def test_ambiguous_local_time_is_first_occurrence():
    parse = time_parser(["iso"], "America/Chicago")
    # 01:30 happens twice on 2022-11-06; fold=0 takes the first (CDT, -5)
    assert parse("2022-11-06 01:30:00") == utc(2022, 11, 6, 6, 30)
    assert parse("2022-11-06 00:59:59") == utc(2022, 11, 6, 5, 59, 59)
    assert parse("2022-11-06 02:00:00") == utc(2022, 11, 6, 8, 0)


def test_nonexistent_local_time_shifts_forward():
    parse = time_parser(["iso"], "America/Chicago")
    # 02:30 does not exist on 2022-03-13: read with the pre-gap offset (CST, -6) = 03:30 CDT
    assert parse("2022-03-13 02:30:00") == utc(2022, 3, 13, 8, 30)
    assert parse("2022-03-13 03:30:00") == utc(2022, 3, 13, 8, 30)


def test_explicit_offset_is_respected():
    assert time_parser(["iso"], "America/Chicago")("2022-11-06T01:30:00-06:00") == utc(2022, 11, 6, 7, 30)


def test_epoch_ms_exact_and_bounded():
    parse = time_parser(["epoch_ms"], "America/Chicago")
    assert parse("1667278839999") == utc(2022, 11, 1, 5, 0, 39, 999000)
    assert parse("1667278839000.0") == utc(2022, 11, 1, 5, 0, 39)
    for bad in ("1667278839", "-5", "99999999999999999", "1.5e3", "abc"):
        with pytest.raises(ValueError):
            parse(bad)


# the formats city mappings use, and variants that exercise whitespace runs, case and literals
_FORMATS = ["%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d", "%Y", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y  %H:%M",
            "%Y%m%d%H%M%S", "%I:%M %p on %m/%d/%Y",
            "%m/%d/%y %H:%M:%S", "%m/%d/%y %I:%M:%S %p"]


@given(fmt=st.sampled_from(_FORMATS),
       moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
       noise=st.text(alphabet="0123456789 :/-.APMapm", max_size=4), where=st.integers(0, 30),
       case=st.sampled_from([str.upper, str.lower, str.title]))
def test_wall_clock_parser_is_strptime(fmt, moment, noise, where, case):
    """The regex path gives strptime's datetime, or a ValueError where strptime raises one, for
    well-formed texts and for texts with characters inserted, unpadded or in any case."""
    from divert.adapters.times import wall_clock_parser

    well_formed = case(moment.strftime(fmt))
    unpadded = well_formed.replace("/0", "/").replace(" 0", " ")
    mangled = well_formed[:where] + noise + well_formed[where:]
    parse = wall_clock_parser(fmt)
    for text in (well_formed, unpadded, mangled):
        try:
            expected = datetime.strptime(text, fmt)
        except ValueError:
            with pytest.raises(ValueError):
                parse(text)
        else:
            assert parse(text) == expected, text
