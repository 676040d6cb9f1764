"""Block-level addresses in the contract: no house-number-like token anywhere.

A house-number-like token is a run of characters between separators (`` /&@,;()-``) that
holds a digit and is none of: a hundred block followed by " BLOCK" ("5200 BLOCK", "0 BLOCK"),
an ordinal of up to 3 digits ("35TH"), a route number of up to 4 digits (and one letter) glued
by one space or "-" to a route word ("LOOP 410", "I-5", "COUNTY ROAD 12").
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.db.migrate import MIGRATIONS_DIR
from schemas import CadEvent, OfficerActivity
from schemas.export import JSON_DIR
from schemas.records import BLOCK_ADDRESS_PATTERN, ROUTE_WORDS, is_block_level

# words that hold no digit and are no route word, so a number after them is a house number
STREET_WORDS = ["N", "W", "NE", "MAIN", "ST", "AVE", "PIKE", "BLVD", "OFRP", "BLOCK N", "35TH ST"]
BLOCK_LEVEL = ["5200 BLOCK N 35TH ST", "0 BLOCK MAIN ST", "1ST AVE / PIKE ST", "PINE ST & 3RD AVE",
               "E NORTH AV / N HUMBOLDT BL", "0 BLOCK NE LOOP 410", "IH 35 N NB / IH 10 W NB",
               "12300 BLOCK US HWY 90 W", "6500 BLOCK FM 78", "SH 151", "I-5 / SR 99", "RT 66",
               "16400 BLOCK COUNTY ROAD 584", "SW LOOP 410 / SPUR 422", "HUEBNER & IH-10 W",
               "BUSINESS 87", "STATE ROUTE 99", "CR 123", "US 281A", "W 35TH ST"]
HOUSE_NUMBERS = ["5237 N 35TH ST", "#5237 N 35TH ST", "N5237 W 35TH ST", "APT 4 5237 N 35TH ST",
                 "5200 BLOCK N 35TH ST APT 4", "5200 BLOCK N 35TH ST #12", "MAIN ST UNIT 12",
                 "MAIN ST STE 200", "MAIN ST LOT 5", "MAIN ST SPACE 3", "MAIN ST BLDG 2",
                 "MAIN ST RM 3", "MAIN ST FL 2", "3017-A N 28TH ST", "5237A N 35TH ST",
                 "PVT RD AT 12111 WETMORE RD", "5201 BLOCK N 35TH ST", "5200 N 35TH ST",
                 "LOOP 12345", "N0 LOOP 410", "I5", "5237TH ST", "9 1/2 ST", "MAIN ST 5237",
                 "SILVER SPRING / 145", "loop 410", "5200 block MAIN ST"]


def cad_event(block_address: str | None) -> dict:
    return dict(agency="milwaukee", incident_id="1", source="911", initial_type="T",
                received_at="2018-05-01T05:10:28Z", block_address=block_address)


def refused_by_the_schema(address: str) -> bool:
    try:
        msgspec.convert(cad_event(address), CadEvent)
    except msgspec.ValidationError as exc:
        assert "block_address" in str(exc)
        return True
    return False


@pytest.mark.parametrize("address", BLOCK_LEVEL)
def test_block_level_forms_are_kept(address):
    assert is_block_level(address)
    assert not refused_by_the_schema(address)
    msgspec.convert({"agency": "a", "activity_id": "1", "occurred_at": "2020-01-01T00:00:00Z",
                     "activity_type": "stop", "block_address": address}, OfficerActivity)


@pytest.mark.parametrize("address", HOUSE_NUMBERS)
def test_house_numbers_anywhere_are_refused(address):
    assert not is_block_level(address)
    assert refused_by_the_schema(address)


house_number = st.one_of(
    st.integers(0, 999_999).map(str),                                  # bare: "5237", "0", "5200"
    st.from_regex(r"\A[#A-Z]{1,3}\d{1,6}\Z"),                          # glued after: "N5237", "#12"
    st.from_regex(r"\A\d{1,6}[A-Z]{1,2}\Z").filter(                    # glued before: "5237A"
        lambda t: not re.fullmatch(r"\d{1,3}(ST|ND|RD|TH)", t)),
    st.from_regex(r"\A\d{4,6}(ST|ND|RD|TH)\Z"),                        # no street is numbered so high
    st.from_regex(r"\A\d{1,6}-[0-9A-Z]{1,3}\Z"),                       # "3017-A", a range "700-798"
    st.tuples(st.sampled_from(["APT", "UNIT", "STE", "LOT", "SPACE", "BLDG", "RM", "FL", "#"]),
              st.integers(0, 9999)).map(lambda u: f"{u[0]} {u[1]}"),  # a unit: "APT 4"
    st.tuples(st.sampled_from(ROUTE_WORDS), st.integers(10_000, 999_999)).map(
        lambda r: f"{r[0]} {r[1]}"),                                  # too long for a route number
)
separator = st.sampled_from([" ", " / ", " & ", "/", ", ", " @ "])
words = st.lists(st.sampled_from(STREET_WORDS + BLOCK_LEVEL), max_size=4)


@given(words, house_number, words, separator, separator)
def test_any_text_with_a_house_number_like_token_is_refused(before, token, after, sep1, sep2):
    address = sep1.join([*before, token]) + (sep2 + " ".join(after) if after else "")
    assert not is_block_level(address), address
    assert refused_by_the_schema(address), address


@given(st.lists(st.one_of(
    st.sampled_from(STREET_WORDS + BLOCK_LEVEL),
    st.integers(0, 999).map(lambda n: f"{n * 100} BLOCK"),
    st.integers(0, 999).map(lambda n: f"{n}{'TH' if n % 100 in (11, 12, 13) else ['TH', 'ST', 'ND', 'RD', *['TH'] * 6][n % 10]}"),
    st.tuples(st.sampled_from(ROUTE_WORDS), st.sampled_from([" ", "-"]), st.integers(0, 9999)).map(
        lambda r: "".join(map(str, r))),
), min_size=1, max_size=6), separator)
def test_text_of_block_level_tokens_is_kept(tokens, sep):
    address = sep.join(tokens)
    assert is_block_level(address), address


def test_the_json_schemas_carry_the_pattern():
    for name in ("cad_event", "classified_call", "officer_activity"):
        text = (JSON_DIR / f"{name}.json").read_text()
        assert msgspec.json.encode(BLOCK_ADDRESS_PATTERN).decode() in text, name


def test_the_database_checks_use_the_pattern_verbatim():
    """The latest migration that sets the block-address CHECKs uses the records' pattern."""
    setting = [p for p in sorted(MIGRATIONS_DIR.glob("*.sql")) if "block_address ~" in p.read_text()]
    assert setting[-1].name == "009_block_address.sql"
    sql = setting[-1].read_text()
    assert sql.count(f"block_address ~ '{BLOCK_ADDRESS_PATTERN}'") == 2   # calls, officer_activity
    assert sql.count(f"block_address !~ '{BLOCK_ADDRESS_PATTERN}'") == 2  # rows stored before comply
    statements = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    assert "not valid" not in statements.lower()                       # validated on every row


def test_the_pattern_keeps_to_syntax_postgresql_and_json_schema_share():
    assert r"\b" not in BLOCK_ADDRESS_PATTERN and "(?<" not in BLOCK_ADDRESS_PATTERN
    assert "'" not in BLOCK_ADDRESS_PATTERN
    assert BLOCK_ADDRESS_PATTERN.startswith("^") and BLOCK_ADDRESS_PATTERN.endswith("$")


def test_decoded_events_refuse_house_numbers_too():
    payload = msgspec.json.encode(cad_event("#5237 N 35TH ST"))
    with pytest.raises(msgspec.ValidationError, match="block_address"):
        msgspec.json.decode(payload, type=CadEvent)
    ok = msgspec.json.decode(msgspec.json.encode(cad_event("5200 BLOCK N 35TH ST")), type=CadEvent)
    assert ok.block_address == "5200 BLOCK N 35TH ST" and ok.received_at == datetime(2018, 5, 1, 5, 10, 28,
                                                                                       tzinfo=UTC)
