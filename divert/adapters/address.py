"""Block-level addresses: a house number is floored to its hundred block, any other one removed.

Addresses are kept at block level (ARCHITECTURE.md, conventions): the canonical form is
upper case with single spaces, without the city suffix or unit after a comma, and without a
house-number-like token anywhere (``schemas.records.BLOCK_ADDRESS_PATTERN`` says which tokens
may hold a digit: a hundred block, an ordinal, a route number after a route word).

>>> to_block_address("5237 N 35TH ST,MKE")
'5200 BLOCK N 35TH ST'
>>> to_block_address("700-798 N Hackberry St")      # a range: its lower end
'700 BLOCK N HACKBERRY ST'
>>> to_block_address("3017-A N 28TH ST,MKE")        # a lettered house number
'3000 BLOCK N 28TH ST'
>>> to_block_address("20 Ne Loop 410")              # route numbers are not house numbers
'0 BLOCK NE LOOP 410'
>>> to_block_address("7950 BLOCK PINEBROOK DR")     # already a block, re-floored
'7900 BLOCK PINEBROOK DR'
>>> to_block_address("E NORTH AV / N HUMBOLDT BL,MKE"), to_block_address("1ST AVE / PIKE ST")
('E NORTH AV / N HUMBOLDT BL', '1ST AVE / PIKE ST')
>>> to_block_address("1204 E Main St Apt 4")       # the unit goes too
'1200 BLOCK E MAIN ST'
>>> to_block_address("12345") is None, to_block_address("  ") is None
(True, True)

A house number written another way is reduced all the same:

>>> to_block_address("#5237 N 35TH ST")             # a "#" before the house number
'5200 BLOCK N 35TH ST'
>>> to_block_address("N5237 W 35TH ST")             # glued to a letter: it cannot be floored
'W 35TH ST'
>>> to_block_address("APT 4 5237 N 35TH ST")        # a unit first, then the house number
'5200 BLOCK N 35TH ST'
>>> to_block_address("PVT RD AT 12111 WETMORE RD")  # a house number further on is removed
'PVT RD AT WETMORE RD'
>>> to_block_address("N0 HY281 N OFRP AIRPORT BLVD")  # San Antonio's masked token; a glued route
'HY 281 N OFRP AIRPORT BLVD'
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from schemas.records import BLOCK_ADDRESS_SEPARATORS, ROUTE_WORDS, is_block_level

MAX_LENGTH = 200

_S = re.escape(BLOCK_ADDRESS_SEPARATORS)
_SEPARATORS = re.compile(f"([{_S}]+)")
_ROUTES = "|".join(sorted(ROUTE_WORDS, key=len, reverse=True))

# house number (optionally lettered "3017A"/"3017-A", or a range "700-798", "1300 - 1422",
# "7600 TO 9100"), then the street
_HOUSE = re.compile(r"^(\d+)(?:[A-Z]|-[0-9A-Z]+)?(?:\s*-\s*\d+[A-Z]?|\s+(?:TO|AND)\s+\d+[A-Z]?)?"
                    r"\s+(?:(?:BLOCK|BLK)\s+)?(?:OF\s+)?(?=\S)(.*)$")
# a unit ("APT 4", "#12", "STE 200", "BLDG C") would narrow a block back to a home: the unit
# word and its designator go, wherever they are
_UNIT = re.compile(
    rf"(?:(?:^|(?<=[{_S}]))(?:APT|APARTMENT|UNIT|STE|SUITE|LOT|SPACE|SPC|BLDG|BLD|BUILDING|RM|ROOM"
    rf"|FL|FLR|FLOOR|TRLR|TRAILER)\.?\s*#?\s*|#\s*)"
    rf"(?:[A-Z0-9-]*\d[A-Z0-9-]*|[A-Z])(?=[{_S}]|$)")
# a route number glued to its route word or to what follows: "HY281", "LOOP410", "I43", "151ONRP"
_GLUED_ROUTE = re.compile(rf"(?:^|(?<=[{_S}]))({_ROUTES})(\d{{1,4}})(?=[A-Z]?(?:[{_S}]|$))")
_ROUTE_THEN_WORD = re.compile(rf"(?:^|(?<=[{_S}]))({_ROUTES})([ -]\d{{1,4}})([A-Z]{{2,}})(?=[{_S}]|$)")
# a direction glued to a numbered street: "S70TH", "S.2ND"
_DIRECTION_ORDINAL = re.compile(rf"(?:^|(?<=[{_S}]))([NSEW])\.?(\d{{1,3}}(?:ST|ND|RD|TH))(?=[{_S}]|$)")
# San Antonio's feed masks the end of an address's first word (and of some others) with zeros ("IH 35" -> "I0 35");
# a masked route word before its number is restored, any other masked word is removed later
_MASKED_ROUTE = re.compile(rf"(?:^|(?<=[{_S}]))(I0|F0|U0|SP00|L00P) (?=\d|HWY |HY |HIGHWAY )")
_UNMASKED = {"I0": "IH", "F0": "FM", "U0": "US", "SP00": "SPUR", "L00P": "LOOP"}
_ORDINAL = re.compile(r"\d{1,3}(?:ST|ND|RD|TH)")
_HUNDRED = re.compile(r"\d*00|0")
_ROUTE_NUMBER = re.compile(r"\d{1,4}[A-Z]?")
_ROUTE_WORDS = frozenset(ROUTE_WORDS)
_DIGIT = re.compile(r"\d")


def _allowed(parts: list[str], i: int) -> bool:
    """Whether token ``parts[i]`` (tokens at even, separators at odd indexes) may hold a digit."""
    token = parts[i]
    if _ORDINAL.fullmatch(token):
        return True
    if _HUNDRED.fullmatch(token):
        return i + 2 < len(parts) and parts[i + 1] == " " and parts[i + 2] == "BLOCK"
    if _ROUTE_NUMBER.fullmatch(token) and i >= 2 and parts[i - 1] in (" ", "-"):
        if parts[i - 2] in _ROUTE_WORDS:
            return True
        return i >= 4 and parts[i - 3] == " " and f"{parts[i - 4]} {parts[i - 2]}" in _ROUTE_WORDS
    return False


def _strip_house_numbers(text: str) -> str:
    """``text`` without the tokens holding a digit that ``_allowed`` does not allow; a removed
    token takes the separator before it along (the first one, the separator after it)."""
    parts = _SEPARATORS.split(text)
    out: list[str] = []
    for i in range(0, len(parts), 2):
        if _DIGIT.search(parts[i]) and not _allowed(parts, i):
            continue
        if out and i:
            out.append(parts[i - 1])
        out.append(parts[i])
    return " ".join("".join(out).split()).strip(" /&@,;-")


def _has_street(text: str) -> bool:
    """Whether anything but a hundred block is left: a street, a place, a route."""
    rest = re.sub(r"(?:^|(?<= ))(?:\d*00|0) BLOCK(?= |$)", "", text)
    return any(c.isalpha() for c in rest)


@lru_cache(maxsize=65536)  # addresses repeat a lot (San Antonio: ~40% of rows share one)
def to_block_address(address: str) -> str | None:
    """A block-level form of ``address`` that satisfies ``schemas.records.is_block_level``,
    or None when it has no usable address (blank, or digits with no street).

    A leading house number is floored to its hundred block; a unit, or a house number
    anywhere else (glued to letters, after a "#", further on), is removed; a route number
    glued to its route word ("HY281") is split from it.
    """
    # compatibility forms ("５", "²") and other scripts' digits ("٥") become ASCII digits, so
    # no house number hides from the checks below, nor from the database's ASCII-only \d
    text = _DIGIT.sub(lambda m: str(unicodedata.decimal(m.group(), 0)), unicodedata.normalize("NFKC", address))
    text = " ".join(text.split(",", 1)[0].upper().split())
    text = re.sub(r"^#\s*(?=\d)", "", text)   # "#5237 N 35TH ST": a house number, not a unit
    text = " ".join(_UNIT.sub(" ", text).split()).strip(" /&@,;-")
    text = _MASKED_ROUTE.sub(lambda m: f"{_UNMASKED[m.group(1)]} ", text)
    text = _DIRECTION_ORDINAL.sub(r"\1 \2", text)
    text = _GLUED_ROUTE.sub(r"\1 \2", text)
    text = _ROUTE_THEN_WORD.sub(r"\1\2 \3", text)
    if not text:
        return None
    m = _HOUSE.match(text)
    if m is not None:
        text = f"{int(m.group(1)) // 100 * 100} BLOCK {m.group(2)}"
    text = _strip_house_numbers(text[:MAX_LENGTH])
    # nothing but digits, or a block with no street ("12345", "9 1/2"): no usable address
    return text if _has_street(text) and is_block_level(text) else None
