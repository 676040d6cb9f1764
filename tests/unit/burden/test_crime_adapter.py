"""The crime adapter on the real Seattle aggregate, and a declarative incident mapping."""

from datetime import UTC, datetime

import pytest

from divert.adapters.crime import load_crime_adapter, parse_crime_mapping
from divert.exceptions import ConfigError, InvalidRecord


def test_seattle_aggregate_is_read_whole():
    adapter = load_crime_adapter("seattle")
    reports = [adapter.normalize(raw) for raw in adapter.read_raw()]
    assert len(reports) == 4_242 and len({r.report_id for r in reports}) == 4_242
    assert sum(r.count for r in reports) == 469_623
    r = reports[0]
    assert (r.report_id, r.offense, r.category, r.areas) == ("2008:B1:Aggravated Assault", "Aggravated Assault",
                                                             "Person Crime", {"beat": "B1"})
    assert r.occurred_at == datetime(2008, 1, 1, 8, tzinfo=UTC) and r.period_end == datetime(2009, 1, 1, 8, tzinfo=UTC)


def test_an_incident_mapping_with_arrests_and_points():
    from divert.adapters.crime import CrimeAdapter

    mapping = parse_crime_mapping({
        "timezone": "America/Chicago", "area_layers": None,
        "fields": {"report_id": "ID", "offense": "Primary Type", "arrest": "Arrest",
                   "lat": "Latitude", "lon": "Longitude"},
        "occurred_at": {"column": "Date", "formats": ["%m/%d/%Y %I:%M:%S %p"]},
        "areas": {"beat": "Beat"}}, "test")
    adapter = CrimeAdapter("chicago", mapping)
    r = adapter.normalize({"ID": "11", "Primary Type": "THEFT", "Arrest": "true", "Beat": "1011",
                           "Date": "01/02/2017 01:00:00 PM", "Latitude": "41.8", "Longitude": "-87.7"})
    assert (r.count, r.arrest, r.period_end, r.category, r.lat) == (1, True, None, "THEFT", 41.8)
    with pytest.raises(InvalidRecord, match="Date"):
        adapter.normalize({"ID": "12", "Primary Type": "THEFT", "Date": "soon"})


def test_bad_crime_mappings_are_refused():
    with pytest.raises(ConfigError, match="report_id"):
        parse_crime_mapping({"timezone": "UTC", "fields": {"offense": "x"},
                             "occurred_at": {"column": "d", "formats": ["iso"]}}, "t.yaml")
    with pytest.raises(ConfigError, match="private"):
        parse_crime_mapping({"timezone": "UTC", "fields": {"offense": "x", "report_id": "Caller Phone"},
                             "occurred_at": {"column": "d", "formats": ["iso"]}}, "t.yaml")
    with pytest.raises(ConfigError, match="no crime mapping"):
        load_crime_adapter("atlantis")
