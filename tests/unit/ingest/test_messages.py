"""normalize_messages: whatever arrives on cad.raw.<city>, every record ends canonical or dead-lettered."""

from __future__ import annotations

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divert.adapters import load_adapter
from divert.ingest import RawMessage, normalize_messages
from schemas import decode_dead_letter, encode
from tests.examples import examples
from tests.hostile import hostile_messages, leaked, valid_record
from tests.hostile import records_in as hostile_records_in

MILWAUKEE = load_adapter("milwaukee")
GOOD = {"id": "1211372", "time": "2018-05-01 00:10:28", "location": "5237 N 35TH ST,MKE",
        "latitude": "43.1127987", "longitude": "-87.95674149999999", "district": "4",
        "nature": "TRBL W/SUBJ", "status": "Unable to Locate Complainant"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8)
records = st.fixed_dictionaries({}, optional={k: json_values | st.text(max_size=30) for k in GOOD})
payloads = st.one_of(
    st.binary(max_size=200),                                   # not JSON at all
    json_values.map(msgspec.json.encode),                      # any JSON value
    records.map(msgspec.json.encode),                          # an object with the right columns, wrong values
    st.lists(records | json_values, min_size=1, max_size=5).map(msgspec.json.encode),  # a batch
)


def records_in(payload: bytes) -> int:
    try:
        value = msgspec.json.decode(payload)
    except msgspec.DecodeError:
        return 1
    return len(value) if isinstance(value, list) and value else 1


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(payloads, max_size=6))
def test_every_record_of_any_message_is_accounted_for(messages):
    batch = normalize_messages(MILWAUKEE, [RawMessage(m, 0, i) for i, m in enumerate(messages)],
                               source_topic="cad.raw.milwaukee")
    assert batch.records == sum(records_in(m) for m in messages)
    for letter in batch.dead_letters:
        assert decode_dead_letter(encode(letter)) == letter  # valid against its schema
        assert letter.reason and letter.detail


def test_a_batch_message_dead_letters_only_its_bad_records():
    bad = dict(GOOD, id="2", time="yesterday")
    batch = normalize_messages(MILWAUKEE, [RawMessage(msgspec.json.encode([GOOD, bad, "x"]), 3, 7)],
                               source_topic="cad.raw.milwaukee")
    assert [e.incident_id for e in batch.events] == ["1211372"]
    assert [(d.record_id, d.field, d.item, d.offset) for d in batch.dead_letters] == [
        ("2", "time", 1, 7), (None, None, 2, 7)]
    assert msgspec.json.decode(batch.dead_letters[0].payload)["time"] == "yesterday"


def test_private_columns_never_reach_a_dead_letter():
    bad = dict(GOOD, time="not a time", **{"Caller Name": "Jane Doe", "caller_phone": "414-555-0100"})
    (letter,) = normalize_messages(MILWAUKEE, [RawMessage(msgspec.json.encode(bad))],
                                   source_topic="cad.raw.milwaukee").dead_letters
    assert "Jane" not in letter.payload and "555" not in letter.payload


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(hostile_messages(), min_size=1, max_size=4))
def test_hostile_messages_are_dead_lettered_and_leak_nothing(messages):
    """Any nesting depth, any size, NUL bytes, invalid UTF-8, truncated JSON, scalars, empty values
    and tombstones, between valid records: every record is accounted for, the valid ones come out,
    and no planted personal string survives in any output."""
    valid = [msgspec.json.encode(valid_record(0)), msgspec.json.encode(valid_record(1))]
    sent = [valid[0], *messages, valid[1]]
    batch = normalize_messages(MILWAUKEE, [RawMessage(m, 0, i) for i, m in enumerate(sent)],
                               source_topic="cad.raw.milwaukee")
    assert batch.records == sum(hostile_records_in(m) for m in sent)
    assert {"77000000", "77000001"} <= {e.incident_id for e in batch.events}
    assert len(batch.dead_letters) >= len(messages) - sum(1 for m in messages if hostile_records_in(m) > 1)
    for out in [*batch.events, *batch.activities, *batch.dead_letters]:
        encoded = encode(out)
        assert leaked(encoded) == [], encoded[:500]
        assert b"\\u0000" not in encoded
    for letter in batch.dead_letters:
        assert decode_dead_letter(encode(letter)) == letter
        assert letter.reason and letter.detail and len(letter.payload) <= 16 * 1024


def test_a_message_of_nested_brackets_is_one_dead_letter_and_spares_its_neighbours():
    deep = b"[" * 2048
    batch = normalize_messages(MILWAUKEE, [RawMessage(msgspec.json.encode(GOOD)), RawMessage(deep, 0, 1),
                                           RawMessage(msgspec.json.encode(dict(GOOD, id="2")))],
                               source_topic="cad.raw.milwaukee")
    assert [e.incident_id for e in batch.events] == ["1211372", "2"]
    (letter,) = batch.dead_letters
    assert (letter.reason, letter.offset) == ("invalid_json", 1) and "deeply" in letter.detail
