"""The record contracts: JSON Schemas in sync, privacy enforced, unknown fields tolerated."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import msgspec
import pytest

from schemas import (
    RECORDS,
    CadEvent,
    OfficerActivity,
    decode_cad_event,
    decode_crime_report,
    decode_officer_activity,
    encode,
)
from schemas.export import JSON_DIR, render

PRIVATE = re.compile(r"name|phone|caller|complainant|ssn|birth", re.I)


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_committed_json_schema_matches_the_struct(name):
    assert (JSON_DIR / f"{name}.json").read_text() == render(name), \
        "schemas/json is stale: run `python -m schemas.export`"


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_no_record_has_a_field_for_private_details(name):
    def fields(struct):
        for f in msgspec.structs.fields(struct):
            yield f.name
            for arg in getattr(f.type, "__args__", ()) or (f.type,):
                if isinstance(arg, type) and issubclass(arg, msgspec.Struct):
                    yield from fields(arg)
    assert not [f for f in fields(RECORDS[name]) if PRIVATE.search(f)]


def event(**kw):
    base = dict(agency="milwaukee", incident_id="1211372", source="911", initial_type="TRBL W/SUBJ",
                received_at=datetime(2018, 5, 1, 5, 10, 28, tzinfo=UTC))
    return CadEvent(**(base | kw))


def test_full_house_numbers_are_refused():
    with pytest.raises(msgspec.ValidationError, match="block_address"):
        decode_cad_event(encode(event()).replace(b'"block_address":null', b'"block_address":"5237 N 35TH ST"'))
    assert decode_cad_event(encode(event(block_address="5200 BLOCK N 35TH ST"))).block_address


def test_precise_coordinates_and_naive_times_are_refused():
    with pytest.raises(ValueError, match="rounded"):
        event(lat=43.1127987)
    with pytest.raises(ValueError, match="time zone"):
        event(received_at=datetime(2018, 5, 1, 5, 10))
    with pytest.raises(msgspec.ValidationError, match="rounded"):
        decode_cad_event(encode(event()).replace(b'"lat":null', b'"lat":43.1127987'))


@pytest.mark.parametrize("decode", [decode_cad_event, decode_officer_activity, decode_crime_report])
@pytest.mark.parametrize(("areas", "why"), [
    ({"city": "north"}, "areas: the layer 'city' is the whole city's"),
    ({"": "1"}, "length >= 1 - at `key` in `$.areas`"),
    ({"l" * 65: "1"}, "length <= 64 - at `key` in `$.areas`"),
    ({"district": "d" * 201}, "length <= 200 - at `$.areas[...]`"),
    ({f"layer{i}": "1" for i in range(33)}, "length <= 32 - at `$.areas`"),
])
def test_areas_are_bounded_and_leave_the_city_layer_to_the_whole_city(decode, areas, why):
    """A record's areas become one stored row each, beside the call's ("city", "all") row."""
    record = {"agency": "a", "incident_id": "1", "activity_id": "1", "report_id": "1", "source": "911",
              "initial_type": "T", "activity_type": "stop", "offense": "O", "category": "C",
              "received_at": "2020-01-01T00:00:00Z", "occurred_at": "2020-01-01T00:00:00Z"}
    assert decode(msgspec.json.encode(record | {"areas": {"district": "d" * 200, "city_council": "7"}})).areas
    with pytest.raises(msgspec.ValidationError, match=re.escape(why)):
        decode(msgspec.json.encode(record | {"areas": areas}))


def test_the_city_layer_is_refused_when_a_record_is_built_too():
    with pytest.raises(ValueError, match="whole city's"):
        event(areas={"city": "north"})


def test_unknown_fields_are_dropped_on_decode():
    payload = encode(event())[:-1] + b',"caller_phone":"414-555-0100","future_field":1}'
    assert decode_cad_event(payload) == event()


def test_outcomes_are_a_closed_vocabulary():
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"agency":"a","activity_id":"1","occurred_at":"2020-01-01T00:00:00Z",'
                            b'"activity_type":"stop","outcomes":["shot"]}', type=OfficerActivity)
