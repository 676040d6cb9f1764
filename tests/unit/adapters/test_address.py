from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from divert.adapters import to_block_address
from schemas.records import is_block_level


@pytest.mark.parametrize(("raw", "block"), [
    ("5237 N 35TH ST,MKE", "5200 BLOCK N 35TH ST"),
    ("3017-A N 28TH ST,MKE", "3000 BLOCK N 28TH ST"),
    ("7900 Pinebrook Dr", "7900 BLOCK PINEBROOK DR"),
    ("9401-9499 W LOOP 1604 N SB", "9400 BLOCK W LOOP 1604 N SB"),
    ("1-299 Remount Dr", "0 BLOCK REMOUNT DR"),
    ("99 MAIN ST", "0 BLOCK MAIN ST"),
    ("N 35TH ST / W VINE ST,MKE", "N 35TH ST / W VINE ST"),
    ("Ih 35 N Nb / Ih 10 W Nb", "IH 35 N NB / IH 10 W NB"),
    ("1ST AVE / PIKE ST", "1ST AVE / PIKE ST"),
    ("4600 BLOCK  S  1ST ST", "4600 BLOCK S 1ST ST"),
    ("1204 E Main St #12", "1200 BLOCK E MAIN ST"),
    ("", None), ("12345", None), ("10-98", None), (",MKE", None),
])
def test_examples(raw, block):
    assert to_block_address(raw) == block


@given(st.text(max_size=300))
def test_always_block_level_or_none(text):
    out = to_block_address(text)
    assert out is None or (is_block_level(out) and len(out) <= 200)


@given(st.integers(0, 10**7), st.sampled_from(["N 35TH ST", "MAIN", "E Vestal Place"]))
def test_house_numbers_floor_to_hundreds(number, street):
    out = to_block_address(f"{number} {street}")
    assert out == f"{number // 100 * 100} BLOCK {street.upper()}"
