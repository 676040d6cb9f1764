"""The council page draws the coverage gaps on the map where the city has boundaries: Seattle's
beats (the shared boundary file), one map per gap, every beat a path shaded by the calls it missed
on one scale; San Antonio has no boundary file, and the page says so instead of drawing."""

from __future__ import annotations

import re
from html import unescape

from divert.funnel import Gaps
from divert.report.funnel import _RAMP, EMPTY, gaps_on_the_map, heat
from divert.report.map import NO_VALUE, area_shapes

PATH = re.compile(r"<path class='gap-area' data-area='([^']+)' d='M[^']+' fill='(#[0-9a-f]{6})'")


def seattle_gaps() -> Gaps:
    return Gaps(eligible=60, eligible_by_hour={}, eligible_by_area={"C3": 40, "E2": 15, "unknown": 5},
                by_hour={"outside hours": {}, "outside areas": {}, "every team busy": {}},
                by_area={"outside hours": {"C3": 12, "E2": 3}, "outside areas": {"E2": 15, "unknown": 5},
                         "every team busy": {"C3": 2}}, day_only=0)


def test_seattle_beats_are_shaded_by_the_calls_they_missed():
    shapes = area_shapes("seattle", "beat")
    html = gaps_on_the_map(seattle_gaps(), shapes, "beat", "Seattle")
    assert html.count("<svg") == 3 and "no boundary file" not in html.lower()
    paths = PATH.findall(html)
    assert len(paths) == 3 * len(shapes) == 3 * 54
    maps = [dict(paths[i * 54:(i + 1) * 54]) for i in range(3)]
    most = 15
    hours, areas, busy = maps
    assert hours["C3"] == heat(12, most) and hours["E2"] == heat(3, most) and areas["E2"] == _RAMP[-1]
    assert areas["C3"] == busy["E2"] == EMPTY                   # eligible calls there, none missed that way
    assert {hours[b] for b in hours if b not in ("C3", "E2")} == {NO_VALUE}   # no eligible call at all
    assert "C3: 12 of 40 eligible calls missed (outside hours)" in unescape(html)
    assert "Not on the map (5 eligible calls" in html and "unknown" in html.lower()


def test_a_city_without_boundaries_says_so():
    assert area_shapes("san_antonio", "substation") is None
    html = gaps_on_the_map(seattle_gaps(), None, "substation", "San Antonio")
    assert "<svg" not in html
    assert "No boundary file of San Antonio's substations is available" in html
    assert "listed by substation below rather than mapped" in html
