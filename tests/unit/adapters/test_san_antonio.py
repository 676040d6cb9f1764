from __future__ import annotations

from collections import Counter

from divert.adapters import Normalized
from schemas.records import is_block_level

from .conftest import HERE, by_id, utc


def test_first_rows_all_normalize(san_antonio, sa_rows):
    results = [san_antonio.normalize(r) for r in sa_rows]
    assert all(isinstance(r, Normalized) for r in results)
    sources = Counter(r.event.source for r in results)
    assert set(sources) <= {"911", "officer_initiated", "non_emergency", "alarm"}
    assert sources["911"] > sources["officer_initiated"] > 0
    for r in results:
        assert r.event.agency == "san_antonio" and r.event.priority is None
        assert (r.activity is not None) == (r.event.source == "officer_initiated")
        assert r.event.block_address is None or is_block_level(r.event.block_address)


def test_known_record(san_antonio, sa_rows):
    event, activity = san_antonio.normalize(by_id(san_antonio, sa_rows)["SAPD-2022-1438214"])
    assert event.received_at == utc(2022, 11, 1, 5, 0, 39)  # 12:00:39 AM CDT, from ResponseDate
    assert event.initial_type == "Disturbance Loud Music"
    assert event.source == "911" and activity is None
    assert event.block_address == "7900 BLOCK PINEBROOK DR"
    assert event.areas == {"district": "7210", "substation": "PRUE", "zipcode": "78230"}
    assert (event.lat, event.lon) == (29.51, -98.547)
    assert event.time_precision == "second"


def test_officer_split_and_types(san_antonio, sa_rows):
    rows = by_id(san_antonio, sa_rows)
    # Time column says " 1:12:46" (24-hour, unpadded, no AM/PM): ResponseDate agrees
    event, activity = san_antonio.normalize(rows["SAPD-2022-1438377"])
    assert event.initial_type == "Officer Traffic Stop" and event.source == "officer_initiated"
    assert event.received_at == utc(2022, 11, 1, 6, 12, 46)
    assert activity.activity_id == activity.incident_id == "SAPD-2022-1438377"
    assert activity.activity_type == "Officer Traffic Stop"
    assert activity.occurred_at == event.received_at and activity.areas == event.areas
    patrol, act = san_antonio.normalize(rows["SAPD-2022-1438229"])
    assert patrol.source == "officer_initiated" and act is not None
    assert patrol.block_address == "1000 BLOCK CINCINNATI AVE"  # "1001-1099 CINCINNATI AVE"
    assert san_antonio.normalize(rows["SAPD-2022-1438232"]).event.source == "non_emergency"


def test_zip_plus_four_is_cut_to_zip(san_antonio, sa_rows):
    event = san_antonio.normalize(by_id(san_antonio, sa_rows)["SAPD-2022-1438255"]).event
    assert event.areas["zipcode"] == "78223"  # the file says 78223-4301


def test_dst_fall_back_uses_epoch(san_antonio):
    """2024-11-03: clocks fall back at 02:00 CDT; local 1:xx happens twice. ResponseDate
    (epoch ms) tells the two apart where the local Date/Time columns cannot."""
    rows = by_id(san_antonio, list(san_antonio.read_raw(HERE / "data" / "san_antonio_2024-11-03_dst.csv")))
    before = san_antonio.normalize(rows["SAPD-2024-1545589"]).event  # Time "12:58:13 AM" CDT
    after = san_antonio.normalize(rows["SAPD-2024-1545607"]).event   # Time " 1:01:54", CST
    assert rows["SAPD-2024-1545607"]["Time"].strip() == "1:01:54"
    assert before.received_at == utc(2024, 11, 3, 5, 58, 13)
    assert after.received_at == utc(2024, 11, 3, 7, 1, 54)
    assert san_antonio.event_time(rows["SAPD-2024-1545607"]) == after.received_at
    assert len(rows) == 82
