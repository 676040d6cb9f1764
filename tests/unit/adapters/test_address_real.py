"""Block-level addresses on real slices: the first 20,000 rows of each city with an address.

Seattle's Call Data carries no address column (its mapping has none), so only San Antonio
and Milwaukee have addresses to reduce. The leak check below is written independently of
``schemas.records.BLOCK_ADDRESS_PATTERN``, so a mistake in the pattern does not hide itself.
"""

from __future__ import annotations

import re
from itertools import islice

import pytest

from divert.adapters import load_adapter, to_block_address
from divert.paths import shared_data_dir
from schemas.records import ROUTE_WORDS, is_block_level

ROWS = 20_000
FILES = {
    "san_antonio": "san_antonio/sapd_calls_first_days_each_month_2022-11_to_2026-08.csv.gz",
    "milwaukee": "milwaukee/mpd_calls_for_service_2018-05-01_to_2018-05-21.csv.gz",
}
_DIGIT_TOKEN = re.compile(r"[^\s/&@,;()-]*\d[^\s/&@,;()-]*")


def house_number_like(address: str) -> list[str]:
    """Every token holding a digit that is not a hundred block, an ordinal or a route number."""
    found = []
    for m in _DIGIT_TOKEN.finditer(address):
        token, before, after = m.group(), address[:m.start()], address[m.end():]
        if re.fullmatch(r"\d{1,3}(ST|ND|RD|TH)", token):
            continue
        if re.fullmatch(r"\d*00|0", token) and re.match(r" BLOCK(?=[\s/&@,;()-]|$)", after):
            continue
        if re.fullmatch(r"\d{1,4}[A-Z]?", token) and any(
                re.search(rf"(?:^|[\s/&@,;()-]){word}[ -]$", before) for word in ROUTE_WORDS):
            continue
        found.append(token)
    return found


@pytest.fixture(scope="module", params=sorted(FILES))
def addresses(request) -> tuple[str, list[str]]:
    adapter = load_adapter(request.param)
    column = adapter.mapping.fields.address
    rows = islice(adapter.read_raw(shared_data_dir() / FILES[request.param]), ROWS)
    return request.param, [r[column] for r in rows if r.get(column)]


def test_seattle_has_no_address_to_reduce():
    assert load_adapter("seattle").mapping.fields.address is None


def test_no_house_number_survives_on_real_addresses(addresses):
    city, raw = addresses
    assert len(raw) > 15_000
    leaks, kept = {}, 0
    for address in set(raw):
        block = to_block_address(address)
        if block is None:
            continue
        kept += 1
        if house_number_like(block) or not is_block_level(block):
            leaks[address] = block
    assert not leaks, f"{city}: {len(leaks)} addresses keep a house number, e.g. {list(leaks.items())[:5]}"
    assert kept > 0.99 * len(set(raw)), f"{city}: too many addresses dropped"


def test_block_addresses_are_stable(addresses):
    """Reducing a block-level address again changes nothing."""
    _, raw = addresses
    for address in set(raw):
        block = to_block_address(address)
        if block is not None:
            assert to_block_address(block) == block, address


def test_the_leak_check_finds_house_numbers():
    assert house_number_like("5200 BLOCK N 35TH ST / NE LOOP 410 / I-5 / COUNTY ROAD 12") == []
    assert house_number_like("#5237 N 35TH ST / N5237 W 35TH ST / APT 4 / 5237A / LOOP 12345") == [
        "#5237", "N5237", "4", "5237A", "12345"]
