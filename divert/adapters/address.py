"""Block-level addresses: a house number is floored to its hundred block.

Addresses are kept at block level (ARCHITECTURE.md, conventions): the canonical form is
upper case with single spaces, without the city suffix or unit after a comma.

>>> to_block_address("5237 N 35TH ST,MKE")
'5200 BLOCK N 35TH ST'
>>> to_block_address("700-798 N Hackberry St")      # a range: its lower end
'700 BLOCK N HACKBERRY ST'
>>> to_block_address("3017-A N 28TH ST,MKE")        # a lettered house number
'3000 BLOCK N 28TH ST'
>>> to_block_address("20 Ne Loop 410")
'0 BLOCK NE LOOP 410'
>>> to_block_address("7950 BLOCK PINEBROOK DR")     # already a block, re-floored
'7900 BLOCK PINEBROOK DR'
>>> to_block_address("E NORTH AV / N HUMBOLDT BL,MKE"), to_block_address("1ST AVE / PIKE ST")
('E NORTH AV / N HUMBOLDT BL', '1ST AVE / PIKE ST')
>>> to_block_address("1204 E Main St Apt 4")       # the unit goes too
'1200 BLOCK E MAIN ST'
>>> to_block_address("12345") is None, to_block_address("  ") is None
(True, True)
"""

from __future__ import annotations

import re
from functools import lru_cache

from schemas.records import is_block_level

MAX_LENGTH = 200

# house number (optionally lettered "3017A"/"3017-A", or a range "700-798"), then the street
_HOUSE = re.compile(r"^(\d+)(?:[A-Z]|-[0-9A-Z]+)?\s+(?:BLOCK\s+)?(?=\S)(.*)$")
# a unit after the street ("APT 4", "#12", "STE 200") would narrow a block back to a home
_UNIT = re.compile(r"\s+(?:#|APT\b|UNIT\s*\d|SUITE\b|STE\s*\d).*$")


@lru_cache(maxsize=65536)  # addresses repeat a lot (San Antonio: ~40% of rows share one)
def to_block_address(address: str) -> str | None:
    """A block-level form of ``address`` that satisfies ``schemas.records.is_block_level``,
    or None when it has no usable address (blank, or digits with no street)."""
    text = " ".join(address.split(",", 1)[0].upper().split())
    text = _UNIT.sub("", text)
    if not text:
        return None
    if text[0].isdigit():
        m = _HOUSE.match(text)
        if m is not None:
            text = f"{int(m.group(1)) // 100 * 100} BLOCK {m.group(2)}"
    text = text[:MAX_LENGTH].rstrip()
    # anything else starting with a digit ("12345", "9 1/2") cannot be made block-level
    return text if text and is_block_level(text) else None
