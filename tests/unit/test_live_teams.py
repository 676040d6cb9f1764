"""The live view's configured teams (`divert demo --teams`): the simulation run over the last hours'
eligible calls up to the newest stored call, what the teams are doing then."""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console

from divert.cli.demo import View, render
from tests.unit.test_live_view import NEWEST, snapshot


def test_the_view_shows_what_the_teams_could_take_now():
    snap = snapshot()
    # crisis: four calls in the last hour (60 min each, 2 teams); navigator: one call three hours ago
    snap.recent_eligible = [(NEWEST - timedelta(minutes=m), "crisis", "WELFARE", f"c{m}") for m in (50, 20, 10, 5)]
    snap.recent_eligible.append((NEWEST - timedelta(hours=3), "navigator", "NOISE", "n1"))
    console = Console(width=80, record=True, color_system=None, force_terminal=False)
    console.print(render(snap, View("san_antonio", "substation", "America/Chicago", teams=2)))
    text = console.export_text()
    assert max(map(len, text.splitlines())) <= 80
    assert "now, 2 teams a route" in text
    teams = text.split("now, 2 teams a route")[1].splitlines()
    crisis = next(line.split() for line in teams if line.startswith("crisis team"))
    # eligible last hour, started (or to be) within the target, busy, free, waiting, sent to police so far:
    # the 23:20 call gives up at 23:35 (waiting now), the 23:25 one starts at 23:40 when the first team frees
    assert crisis[2:] == ["4", "3", "2", "0", "2", "0"], crisis
    navigator = next(line.split() for line in teams if line.startswith("civilian navigator"))
    assert navigator[2:] == ["0", "0", "0", "2", "0", "0"], navigator


def test_no_teams_no_table():
    console = Console(width=80, record=True, color_system=None, force_terminal=False)
    console.print(render(snapshot(), View("san_antonio", "substation", "America/Chicago", teams=0)))
    assert "teams a route" not in console.export_text()
