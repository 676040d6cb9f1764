"""Malformed records raise InvalidRecord naming the field; nothing else ever escapes."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divert.adapters import Normalized, load_adapter
from divert.adapters.mapping import as_field_spec, as_time_specs
from divert.exceptions import InvalidRecord
from schemas.records import decode_cad_event, decode_officer_activity, encode
from tests.examples import examples

SA = {"IncidentNumber": "SAPD-2022-1438214", "ProblemType": "Disturbance Loud Music",
      "ResponseDate": "1667278839000", "Address": "7900 Pinebrook Dr", "LAT": "29.509685",
      "LON": "-98.546586", "PatrolDistrict": "7210", "Substation": "PRUE", "Zipcode": "78230"}
SEA = {"CAD Event Number": "2023000319821", "Call Type": "911", "Priority": "2",
       "Initial Call Type": "BURN - RECKLESS BURNING", "Original Time Queued": "11/04/2023 6:08:26 PM",
       "Arrived Time": "11/04/2023 6:51:06 PM", "Beat": "C3"}


@pytest.mark.parametrize(("city", "base", "change", "field", "reason"), [
    ("san_antonio", SA, {"IncidentNumber": ""}, "IncidentNumber", "missing"),
    ("san_antonio", SA, {"IncidentNumber": None}, "IncidentNumber", "missing"),
    ("san_antonio", SA, {"ProblemType": "  "}, "ProblemType", "missing"),
    ("san_antonio", SA, {"ProblemType": "x" * 201}, "ProblemType", "too_long"),
    ("san_antonio", SA, {"ResponseDate": "11/01/22"}, "ResponseDate", "unparseable_time"),
    ("san_antonio", SA, {"ResponseDate": "1667278839"}, "ResponseDate", "unparseable_time"),  # seconds
    ("san_antonio", SA, {"ResponseDate": ""}, "ResponseDate", "missing"),
    ("san_antonio", SA, {"ResponseDate": True}, "ResponseDate", "unsupported_value_type"),
    ("san_antonio", SA, {"ProblemType": ["Theft"]}, "ProblemType", "unsupported_value_type"),
    ("seattle", SEA, {"Priority": "high"}, "Priority", "not_an_integer"),
    ("seattle", SEA, {"Priority": "2.5"}, "Priority", "not_an_integer"),
    ("seattle", SEA, {"Priority": "-1"}, "Priority", "out_of_range"),
    ("seattle", SEA, {"Original Time Queued": "13/45/2023 6:08 PM"}, "Original Time Queued",
     "unparseable_time"),
    ("seattle", SEA, {"Arrived Time": "soon"}, "Arrived Time", "unparseable_time"),
    ("seattle", {k: v for k, v in SEA.items() if k != "Original Time Queued"}, {},
     "Original Time Queued", "missing"),
])
def test_invalid_names_field(city, base, change, field, reason):
    adapter = load_adapter(city)
    with pytest.raises(InvalidRecord) as info:
        adapter.normalize({**base, **change})
    assert (info.value.field, info.value.reason) == (field, reason)
    if field not in ("IncidentNumber", "CAD Event Number"):
        assert info.value.record_id == adapter.record_id(base)


def test_json_types_accepted():
    adapter = load_adapter("seattle")
    event = adapter.normalize({**SEA, "CAD Event Number": 2023000319821, "Priority": 2,
                               "Blurred_Latitude": 47.6176603, "Blurred_Longitude": -122.28112,
                               "Sector": None, "unknown extra": {"nested": 1}}).event
    assert event.incident_id == "2023000319821" and event.priority == 2
    assert (event.lat, event.lon) == (47.618, -122.281) and "sector" not in event.areas
    sa = load_adapter("san_antonio").normalize({**SA, "ResponseDate": 1667278839000}).event
    assert sa.received_at.timestamp() == 1667278839


@pytest.mark.parametrize("lat,lon", [("0", "0"), ("", "-98.5"), ("95", "-98.5"), ("nan", "1"),
                                     ("0.00001", "-0.00001"), ("north", "west")])
def test_bad_coordinates_drop_the_point_not_the_record(lat, lon):
    event = load_adapter("san_antonio").normalize({**SA, "LAT": lat, "LON": lon}).event
    assert event.lat is None and event.lon is None


def test_not_an_object():
    adapter = load_adapter("milwaukee")
    for raw in (None, [], "text", 3):
        with pytest.raises(InvalidRecord) as info:
            adapter.normalize(raw)
        assert info.value.reason == "not_an_object"
        assert adapter.record_id(raw) is None


def test_private_columns_never_copied():
    event = load_adapter("san_antonio").normalize(
        {**SA, "Caller Name": "Ann Example", "Caller Phone": "210-555-0100"}).event
    assert "Ann Example" not in encode(event).decode()
    assert "555-0100" not in encode(event).decode()


# -- property: anything in, Normalized or InvalidRecord out ------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_leaves=5)


def plausible(columns: list[str], examples: dict[str, str]):
    """Records built from the city's own columns, mixing real, malformed and JSON values."""
    value = st.one_of(st.sampled_from(sorted(set(examples.values()))), st.text(max_size=40),
                      st.from_regex(r"\s*\d{1,14}(\.\d*)?\s*", fullmatch=True), json_values)
    return st.dictionaries(st.sampled_from(columns) | st.text(max_size=10), value, max_size=len(columns) + 2)


def _columns(adapter) -> list[str]:
    """Every column name the city's mapping reads (all aliases)."""
    m = adapter.mapping
    cols: set[str] = set()
    for spec in [*msgspec.structs.astuple(m.fields), *m.areas.values()]:
        if spec is not None:
            cols.update(as_field_spec(spec).columns)
    for name in m.times.__struct_fields__:
        for t in as_time_specs(getattr(m.times, name)):
            cols.update(t.columns)
    if m.source.column:
        cols.update(as_field_spec(m.source.column).columns)
    return sorted(cols)


CASES = {"san_antonio": SA, "seattle": {**SEA, "Incident.Date": "2024-04-22", "Call.Type": "ONVIEW"},
         "milwaukee": {"id": "1211372", "time": "2018-05-01 00:10:28", "location": "5237 N 35TH ST,MKE",
                       "nature": "TRAFFIC STOP", "status": "Advised", "latitude": "43.1", "district": "4"}}


@pytest.mark.parametrize("city", sorted(CASES))
def test_normalize_total(city):
    adapter = load_adapter(city)
    columns = _columns(adapter)

    @settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(plausible(columns, CASES[city]),
                     st.builds(lambda base, extra: {**base, **extra}, st.just(CASES[city]),
                               plausible(columns, CASES[city])),
                     json_values))
    def check(raw):
        try:
            result = adapter.normalize(raw)
        except InvalidRecord as err:
            assert err.reason
            return
        assert isinstance(result, Normalized)
        # what normalize returns is valid on the wire: it survives a strict decode
        assert decode_cad_event(encode(result.event)) == result.event
        if result.activity is not None:
            assert decode_officer_activity(encode(result.activity)) == result.activity
        adapter.event_time(raw)  # never raises for a record normalize accepted

    check()
