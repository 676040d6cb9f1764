from __future__ import annotations

from collections import Counter

from .conftest import by_id, utc


def test_every_row_of_every_file(seattle, sea_rows):
    results = [seattle.normalize(r) for r in sea_rows]
    assert len(results) == 4680
    assert len({r.event.incident_id for r in results}) == 4612  # overlapping files
    sources = Counter(r.event.source for r in results)
    assert sources == {"911": 2264, "non_emergency": 1874, "officer_initiated": 449,
                       "alarm": 92, "other": 1}
    assert sum(r.activity is not None for r in results) == 449
    assert Counter(r.event.time_precision for r in results) == {"day": 4183, "second": 497}


def test_unpadded_12_hour_before_fall_back(seattle, sea_rows):
    # "11/04/2023 6:08:26 PM" is still PDT (-7): DST ends 2023-11-05 02:00
    event, activity = seattle.normalize(by_id(seattle, sea_rows)["2023000319821"])
    assert event.received_at == utc(2023, 11, 5, 1, 8, 26)
    assert event.arrived_at == utc(2023, 11, 5, 1, 51, 6)
    assert event.source == "911" and activity is None
    assert event.priority == 2
    assert event.initial_type == "BURN - RECKLESS BURNING"
    assert event.final_type == "SUSPICIOUS CIRCUM. - SUSPICIOUS PERSON"  # "--" stripped
    assert event.areas == {"precinct": "EAST", "sector": "CHARLIE", "beat": "C3"}
    assert (event.lat, event.lon) == (47.618, -122.281)


def test_either_side_of_spring_forward(seattle, sea_rows):
    rows = by_id(seattle, sea_rows)
    # 2023-03-11 10:54:38 AM, the day before DST starts: PST (-8)
    assert seattle.normalize(rows["2023000067233"]).event.received_at == utc(2023, 3, 11, 18, 54, 38)
    # 2020-03-10 7:13:59 PM, two days after DST started: PDT (-7)
    assert seattle.normalize(rows["2020000088332"]).event.received_at == utc(2020, 3, 11, 2, 13, 59)


def test_padded_hour_and_onview(seattle, sea_rows):
    # "08/19/2011 09:16:27 PM": padded hour, ONVIEW -> officer activity
    event, activity = seattle.normalize(by_id(seattle, sea_rows)["2011000272829"])
    assert event.received_at == utc(2011, 8, 20, 4, 16, 27)
    assert event.source == "officer_initiated"
    assert activity.activity_type == "TRAFFIC STOP - OFFICER INITIATED ONVIEW"
    assert event.areas["beat"] == "C2"


def test_date_only_extract(seattle, sea_rows):
    # dotted columns, Incident.Date only: local midnight, precision "day"
    event = seattle.normalize(by_id(seattle, sea_rows)["2024000109132"]).event
    assert event.received_at == utc(2024, 4, 22, 7, 0)
    assert event.time_precision == "day"
    assert event.priority == 3 and event.source == "911"
    assert event.initial_type == "PERSON IN BEHAVIORAL/EMOTIONAL CRISIS"
    # the extracts carry no Beat column: the point is placed in the beat polygons
    assert event.arrived_at is None and event.areas == {"beat": "C3"}


def test_outcomes_from_clearance(seattle, sea_rows):
    acts = [a for a in (seattle.normalize(r).activity for r in sea_rows) if a is not None]
    kinds = Counter(o for a in acts for o in a.outcomes)
    assert kinds["citation"] > 0 and kinds["warning"] > 0
