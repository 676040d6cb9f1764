"""Hostile messages for a raw topic, as hypothesis strategies, each carrying planted personal data.

Used by the unit test of the ingest core and by the live-worker test: whatever one message
holds, it must be dead-lettered with its reason, the records around it must be stored, and
none of the planted strings may survive into any topic or row.
"""

from __future__ import annotations

import msgspec
from hypothesis import strategies as st

# Planted personal data; none of them can occur by chance in a hash (they hold non-hex characters)
NAME = "Zebulon Quirkfeather"
PHONE = "414-555-0199"
HOUSE = "5237 N 35TH ST"
PRECISE = "43.1127987"
PLANTED = (NAME, PHONE, HOUSE, "1127987", "Quirkfeather")

# A real Milwaukee record (tests/unit/ingest) with the planted data in every kind of place
GOOD = {"id": "1211372", "time": "2018-05-01 00:10:28", "location": "5237 N 35TH ST,MKE",
        "latitude": PRECISE, "longitude": "-87.95674149999999", "district": "4",
        "nature": "TRBL W/SUBJ", "status": "Unable to Locate Complainant"}
PRIVATE = {"Caller Name": NAME, "caller_phone": PHONE, "notes": f"{NAME} at {HOUSE}, call {PHONE}"}


def _planted_value() -> st.SearchStrategy:
    return st.sampled_from([NAME, PHONE, HOUSE, PRECISE, f"{NAME} {PHONE}", f"{HOUSE} APT 4"])


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _planted_value() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        # columns divert must not keep (or keeps only rounded); a name planted in a column it reads,
        # such as the call type, would be kept as data like any other
        st.sampled_from(["Caller Name", "notes", "latitude", "x", "details"]), children, max_size=3),
    max_leaves=6)


def _nested(depth: int, opener: bytes, closer: bytes, inner: bytes) -> bytes:
    return opener * depth + inner + closer * depth


# (column, value) pairs the Milwaukee adapter must refuse; a lone surrogate arrives as a JSON escape
_BROKEN = [("id", ""), ("id", "x" * 5000), ("id", "99\x00"), ("time", "not a time"), ("nature", ""),
           ("nature", "TRBL\x00"), ("nature", "SURROGATE"), ("district", ["4"]), ("location", {"a": 1}),
           ("time", 12.5)]


@st.composite
def bad_records(draw) -> dict:
    """A Milwaukee record broken in one column, with personal data in the columns around it."""
    column, value = draw(st.sampled_from(_BROKEN))
    return dict(GOOD, **PRIVATE, **{column: value})


def _encoded(value) -> bytes:
    return msgspec.json.encode(value).replace(b'"SURROGATE"', b'"\\ud800x"')


KINDS = ("bad_record", "deep_array", "deep_object", "deep_in_record", "huge", "nul", "invalid_utf8",
         "truncated", "scalar", "empty", "tombstone", "array_of_bad", "nested_private", "not_json")


@st.composite
def hostile_messages(draw, kinds=KINDS) -> bytes | None:
    """One message no adapter can make canonical, whatever shape it takes (of one of ``kinds``)."""
    kind = draw(st.sampled_from(kinds))
    if kind == "bad_record":
        return _encoded(draw(bad_records()))
    if kind == "deep_array":
        return _nested(draw(st.integers(1000, 20000)), b"[", b"]", PHONE.encode())
    if kind == "deep_object":
        return _nested(draw(st.integers(1000, 5000)), b'{"a":', b"}", b'"' + NAME.encode() + b'"')
    if kind == "deep_in_record":
        inner = _nested(draw(st.integers(10, 900)), b"[", b"]", b'"' + NAME.encode() + b'"')
        return msgspec.json.encode(dict(GOOD, id="")).replace(b'"id":""', b'"id":' + inner)
    if kind == "huge":
        return msgspec.json.encode(dict(GOOD, **PRIVATE, nature="N" * draw(st.integers(10_000, 3_000_000))))
    if kind == "nul":
        return msgspec.json.encode(dict(GOOD, **PRIVATE, id=f"99\x00{PHONE}"))
    if kind == "invalid_utf8":
        return msgspec.json.encode(dict(GOOD, **PRIVATE)).replace(b"TRBL", b"\xff\xfe\xc3")
    if kind == "truncated":
        full = msgspec.json.encode(dict(GOOD, **PRIVATE, id=""))
        return full[:draw(st.integers(1, len(full) - 1))]
    if kind == "scalar":
        return msgspec.json.encode(draw(st.one_of(st.integers(), st.just(f"{NAME} {PHONE}"), st.booleans(),
                                                  st.none(), st.floats(allow_nan=False))))
    if kind == "empty":
        return b""
    if kind == "tombstone":
        return None
    if kind == "array_of_bad":
        return _encoded(draw(st.lists(st.one_of(bad_records(), _json), min_size=1, max_size=4)))
    if kind == "nested_private":
        return msgspec.json.encode(dict(GOOD, id="", details={"caller": {"name": NAME, "phone": [PHONE]},
                                                             "where": [HOUSE, PRECISE]}))
    return (f"{NAME} called from {HOUSE} on {PHONE} " * draw(st.integers(1, 50))).encode()


def records_in(payload: bytes | None) -> int:
    """Records a message carries: an array's elements, else one."""
    try:
        value = msgspec.json.decode(payload or b"")
    except (msgspec.DecodeError, RecursionError):
        return 1
    return len(value) if isinstance(value, list) and value else 1


def leaked(text: str | bytes) -> list[str]:
    """The planted strings found in ``text``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [p for p in PLANTED if p in text]


def valid_record(n: int) -> dict:
    """The real record as a new incident, with personal data in columns divert must not keep."""
    return dict(GOOD, **PRIVATE, id=f"77{n:06d}")
