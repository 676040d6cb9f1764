"""Area assignment on the real polygon layers in the shared data."""

import numpy as np
import pytest

from divert.areas import AreaIndex, load_area_config, load_area_index, read_polygons
from divert.exceptions import ConfigError


@pytest.fixture(scope="module")
def seattle():
    return load_area_index("seattle")


@pytest.fixture(scope="module")
def new_orleans():
    return load_area_index("new_orleans")


def test_seattle_beats_are_read_as_wgs84(seattle, shared_data):
    polygons = read_polygons(shared_data / "seattle/SPD_BEATS_WGS84/SPD_BEATS_WGS84.shp", "BEAT", "EPSG:3857")
    assert len(polygons) == 54
    lon_min, lat_min, lon_max, lat_max = np.array([g.bounds for _, g in polygons]).T
    # the city of Seattle lies within about -122.46..-122.22 and 47.48..47.74
    assert -122.46 < lon_min.min() and lon_max.max() < -122.22
    assert 47.48 < lat_min.min() and lat_max.max() < 47.74


def test_seattle_points_land_in_their_recorded_beat(seattle):
    # a full-export call whose Beat column says C3, at its (blurred) point
    assert seattle.assign(47.618, -122.281) == {"beat": "C3"}
    # downtown (Pike Place Market) is in the West precinct: beat M-something
    assert seattle.assign(47.609, -122.342)["beat"][0] in "DKM"
    assert seattle.assign(47.0, -122.0) == {}           # outside the city
    assert seattle.assign(None, None) == {}


def test_new_orleans_neighborhoods(new_orleans):
    assert new_orleans.assign(29.95, -90.07) == {"neighborhood": "CENTRAL BUSINESS DISTRICT"}
    assert new_orleans.assign(29.958, -90.065) == {"neighborhood": "FRENCH QUARTER"}
    assert new_orleans.layer_names == ["neighborhood"]


def test_vectorized_equals_one_at_a_time(seattle, new_orleans):
    rng = np.random.default_rng(6)
    lats = list(rng.uniform(47.50, 47.73, 300)) + [None]
    lons = list(rng.uniform(-122.42, -122.25, 300)) + [-122.3]
    many = seattle.assign_many(lats, lons)["beat"]
    one = [seattle.assign(a, o).get("beat") for a, o in zip(lats, lons, strict=True)]
    assert many.tolist() == one
    assert sum(b is not None for b in one) > 250       # most random points fall in a beat


def test_merge_prefer_agency_keeps_the_recorded_code():
    from shapely.geometry import box

    index = AreaIndex.from_layers({"beat": [("A", box(0, 0, 1, 1))], "hood": [("H", box(0, 0, 1, 1))]},
                                  prefer={"beat": "agency"})
    assert index.merge({"beat": "Z"}, 0.5, 0.5) == {"beat": "Z", "hood": "H"}
    assert index.merge({}, 0.5, 0.5) == {"beat": "A", "hood": "H"}


def test_city_mapping_can_name_the_layers(tmp_path, monkeypatch):
    """The optional adapter step: a city mapping with `area_layers` places each point."""
    import shutil

    from divert.paths import reference_dir

    ref = tmp_path / "reference"
    shutil.copytree(reference_dir(), ref)
    (ref / "cities/seattle.yaml").write_text((ref / "cities/seattle.yaml").read_text() + "\narea_layers: seattle\n")
    monkeypatch.setenv("DIVERT_REFERENCE", str(ref))
    from divert.adapters import load_adapter

    adapter = load_adapter("seattle")
    # a filtered extract's row: no Beat column, only a point
    ev, _ = adapter.normalize({"CAD.Event.Number": "1", "Initial.Call.Type": "X", "Incident.Date": "2012-05-01",
                               "Call.Type": "ONVIEW", "Blurred_Latitude": "47.618", "Blurred_Longitude": "-122.281"})
    assert ev.areas == {"beat": "C3"}
    # a full export's row keeps the Beat dispatch recorded (seattle prefers the agency's code)
    ev, _ = adapter.normalize({"CAD Event Number": "2", "Initial Call Type": "X", "Beat": "C2",
                               "Original Time Queued": "08/19/2011 09:16:27 PM", "Call Type": "ONVIEW",
                               "Blurred_Latitude": "47.618", "Blurred_Longitude": "-122.281"})
    assert ev.areas["beat"] == "C2"


def test_bad_configurations_name_the_problem(tmp_path, monkeypatch):
    (tmp_path / "areas").mkdir()
    (tmp_path / "areas/x.yaml").write_text("layers: {beat: {file: nowhere.shp, key: BEAT, crs: EPSG:2263}}\n")
    monkeypatch.setenv("DIVERT_REFERENCE", str(tmp_path))
    with pytest.raises(ConfigError, match="x.yaml"):
        load_area_config("x")
    with pytest.raises(ConfigError, match="no area configuration"):
        load_area_config("nope")
    with pytest.raises(ConfigError, match="no attribute 'NAME'"):
        from divert.paths import shared_data_dir
        read_polygons(shared_data_dir() / "seattle/SPD_BEATS_WGS84/SPD_BEATS_WGS84.shp", "NAME")
