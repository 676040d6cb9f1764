from __future__ import annotations

from collections import Counter

from .conftest import by_id, utc


def test_first_rows(milwaukee, mke_rows):
    results = [milwaukee.normalize(r) for r in mke_rows]
    sources = Counter(r.event.source for r in results)
    assert sources["911"] and sources["officer_initiated"] and sources["other"] and sources["alarm"]
    officer_types = {r.event.initial_type for r in results if r.activity is not None}
    assert {"TRAFFIC STOP", "BUSINESS CHECK"} <= officer_types
    assert all(r.event.received_at.tzinfo is not None for r in results)


def test_known_record(milwaukee, mke_rows):
    event, activity = milwaukee.normalize(by_id(milwaukee, mke_rows)["1211372"])
    assert event.received_at == utc(2018, 5, 1, 5, 10, 28)  # 00:10:28 CDT
    assert event.block_address == "5200 BLOCK N 35TH ST"    # "5237 N 35TH ST,MKE"
    assert event.areas == {"district": "4"}
    assert event.disposition == "Unable to Locate Complainant"
    assert event.source == "911" and activity is None
    lettered = milwaukee.normalize(by_id(milwaukee, mke_rows)["1211384"]).event
    assert lettered.block_address == "3000 BLOCK N 28TH ST"  # "3017-A N 28TH ST,MKE"


def test_traffic_stop_with_citation(milwaukee, mke_rows):
    event, activity = milwaukee.normalize(by_id(milwaukee, mke_rows)["1211405"])
    assert event.initial_type == "TRAFFIC STOP" and event.source == "officer_initiated"
    assert activity.outcomes == ["citation"]  # status "City Citation(s) Issued"
    assert activity.occurred_at == event.received_at == utc(2018, 5, 1, 5, 27, 21)


def test_admin_and_sensor_sources(milwaukee, mke_rows):
    rows = by_id(milwaukee, mke_rows)
    assert milwaukee.normalize(rows["1211406"]).event.source == "other"  # RETURN STATION
    assert milwaukee.normalize(rows["1211374"]).event.source == "alarm"  # SHOTSPOTTER


def test_blank_coordinates_are_none_not_dead(milwaukee, mke_rows):
    event = milwaukee.normalize(by_id(milwaukee, mke_rows)["1212324"]).event
    assert event.lat is None and event.lon is None
