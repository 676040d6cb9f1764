"""Loading city mappings: the shipped ones load; broken ones fail naming file and key."""

from __future__ import annotations

import gzip

import pytest

from divert.adapters import available_cities, load_adapter
from divert.exceptions import ConfigError

MINIMAL = """\
timezone: America/Denver
history: [calls.csv]
fields: {incident_id: Call No, initial_type: [Type, Call.Type]}
times: {received_at: {column: When, formats: ["%m/%d/%Y %H:%M"]}}
areas: {beat: Beat}
source: {types: {officer_initiated: [SELF INIT]}}
"""


@pytest.fixture
def refdir(tmp_path, monkeypatch):
    (tmp_path / "cities").mkdir()
    monkeypatch.setenv("DIVERT_REFERENCE", str(tmp_path))
    monkeypatch.setenv("DIVERT_SHARED_DATA", str(tmp_path))
    return tmp_path / "cities"


def test_shipped_cities_load():
    assert {"san_antonio", "milwaukee", "seattle"} <= set(available_cities())
    for city in available_cities():
        adapter = load_adapter(city)
        assert adapter.city == city and adapter.mapping.timezone
        assert adapter.history_files()  # every configured history file exists


def test_new_city_with_no_code(refdir):
    """Onboarding: a YAML file and a CSV, nothing else."""
    (refdir / "denver.yaml").write_text(MINIMAL)
    (refdir.parent / "calls.csv").write_text(
        "Call No,Type,When,Beat,Caller Phone\n"
        "D1,THEFT,03/10/2024 02:30,B1,555-0100\n"
        "D2,SELF INIT,11/03/2024 01:30,B2,\n")
    adapter = load_adapter("denver")
    assert available_cities() == ["denver"]
    rows = list(adapter.read_raw())
    one, two = (adapter.normalize(r) for r in rows)
    assert one.event.agency == "denver" and one.event.source == "911"
    assert one.event.received_at.isoformat() == "2024-03-10T09:30:00+00:00"  # gap: shifted forward
    assert two.event.received_at.isoformat() == "2024-11-03T07:30:00+00:00"  # ambiguous: MDT
    assert two.activity is not None and two.event.areas == {"beat": "B2"}


@pytest.mark.parametrize(("text", "key"), [
    (MINIMAL.replace("America/Denver", "Mars/Olympus"), "timezone"),
    (MINIMAL.replace("incident_id", "incident"), "fields"),
    (MINIMAL.replace("Call No", "Caller Name"), "fields.incident_id"),
    (MINIMAL.replace('"%m/%d/%Y %H:%M"', "mdy"), "times.received_at[0].formats"),
    (MINIMAL.replace("officer_initiated", "officer"), "source.types"),
    (MINIMAL + "colour: blue\n", "colour"),
    (MINIMAL.replace("{beat: Beat}", "{city: Beat}"), "the layer 'city' is the whole city's"),
    (MINIMAL.replace("{beat: Beat}", "{" + "b" * 65 + ": Beat}"), "areas"),
    ("timezone: [", "YAML"),
])
def test_invalid_mapping_names_file_and_key(refdir, text, key):
    (refdir / "broken.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_adapter("broken")
    assert "broken.yaml" in str(info.value) and key in str(info.value)


def test_missing_city(refdir):
    with pytest.raises(ConfigError, match="atlantis.yaml"):
        load_adapter("atlantis")
    with pytest.raises(ConfigError):
        load_adapter("../secrets")


def test_missing_history_file(refdir):
    (refdir / "denver.yaml").write_text(MINIMAL)
    with pytest.raises(ConfigError, match="history"):
        list(load_adapter("denver").read_raw())


def test_read_raw_bom_gzip_and_ragged_rows(refdir, tmp_path):
    (refdir / "denver.yaml").write_text(MINIMAL)
    path = tmp_path / "calls.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8-sig", newline="") as f:
        f.write('Call No,Type,When\nD1,THEFT,01/02/2024 10:00\n\nD2,THEFT\nD3,"A, B",01/02/2024 10:00,extra\n')
    rows = list(load_adapter("denver").read_raw(path))
    assert rows == [
        {"Call No": "D1", "Type": "THEFT", "When": "01/02/2024 10:00"},
        {"Call No": "D2", "Type": "THEFT", "When": ""},
        {"Call No": "D3", "Type": "A, B", "When": "01/02/2024 10:00", "_extra_1": "extra"},
    ]


def test_crime_and_polygon_configs_leave_the_city_layer_to_the_whole_city():
    from divert.adapters.crime import parse_crime_mapping
    from divert.areas import AreaConfig
    from divert.reference import convert

    with pytest.raises(ConfigError, match=r"crime/x.yaml: areas: the layer 'city'"):
        parse_crime_mapping({"timezone": "UTC", "fields": {"report_id": "id", "offense": "o", "category": "c"},
                             "occurred_at": {"column": "at", "formats": ["iso"]}, "areas": {"city": "c"}},
                            "crime/x.yaml")
    with pytest.raises(ConfigError, match=r"areas/x.yaml: areas: the layer 'city'"):
        convert({"layers": {"city": {"file": "a.geojson", "key": "name"}}}, AreaConfig, "areas/x.yaml")
