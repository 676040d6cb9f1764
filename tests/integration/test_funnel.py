"""`divert funnel`, `divert staffing` and the council report's funnel section on real calls.

San Antonio: the city's published days 1–5 November 2022 (the first 18,000 rows of the shared file,
classified and stored); a crisis program in substation EAST, 07:00–23:00, with 2 and 4 teams.
Seattle: its full export 2018–2023 (crisis calls, initial and final types), and every call of its
history for a program on beat C3, whose coverage gaps the council page draws on the beats. The
council pages are rendered in headless Chromium; their screenshots are kept in the tests' folders.
"""

from __future__ import annotations

import asyncio
import re
from html import unescape

import asyncpg
import numpy as np
import pytest

from consumers.db.migrate import migrate
from consumers.db.writer import write_calls
from divert.costs.model import load_model
from divert.funnel import STAGES, funnel, program_for
from divert.policy import load_policy
from divert.simulation import AssumedService
from tests.helpers import run_divert
from tests.integration.test_costs import seed_seattle
from tests.unit.simulation.conftest import SUBSTATION, sa_november_2022

HOURS = "mon-sun 07:00-23:00"


async def seed_sa(dsn: str) -> tuple:
    await migrate(dsn)
    calls = sa_november_2022()
    conn = await asyncpg.connect(dsn)
    try:
        await write_calls(conn, list(calls))
    finally:
        await conn.close()
    return calls


@pytest.fixture
def sa_env(db_dsn, service_env):
    calls = asyncio.run(seed_sa(db_dsn))
    env = dict(service_env, DIVERT_DATABASE_URL=db_dsn)
    added = run_divert(env, "program", "add", "--name", "sa-east-crisis", "--city", "san_antonio", "--areas",
                       SUBSTATION, "--layer", "substation", "--routes", "crisis", "--start", "2022-11-03")
    assert added.returncode == 0, added.stderr
    return env, calls


def stage_counts(stdout: str) -> dict[str, int | None]:
    out = {}
    for line in stdout.splitlines():
        for name in STAGES:
            if line.startswith(name) and (m := re.match(rf"{re.escape(name)}(?: \(\w+\))?\s+([\d,]+|not measured)", line)):
                out[name] = None if m[1] == "not measured" else int(m[1].replace(",", ""))
    return out


def test_san_antonio_funnel_and_staffing(sa_env):
    env, calls = sa_env
    alt = load_model("san_antonio").alternatives["crisis"]
    hours = frozenset(d * 24 + h for d in range(7) for h in range(7, 23))
    for teams in (2, 4):
        result = run_divert(env, "funnel", "--city", "san_antonio", "--program", "sa-east-crisis", "--hours", HOURS,
                            "--teams", str(teams), timeout=180)
        assert result.returncode == 0, result.stderr
        assert all(len(line) <= 110 for line in result.stdout.splitlines()), result.stdout
        # the CLI's counts are the core's on the same calls (the program's areas from the programs table)
        program = program_for(load_policy(), "san_antonio", "crisis", teams=teams, target_minutes=alt.target_minutes,
                              target_share=alt.target_share, hours=hours, areas={"substation": frozenset({SUBSTATION})})
        f = funnel(calls, program, assumed=AssumedService.team(alt))
        assert stage_counts(result.stdout) == {s.name: s.count for s in f.stages}
        text = " ".join(result.stdout.split())
        for phrase in ("officer-initiated", "outside program hours", "outside program areas (substation=",
                       "by substation (calls reaching each stage)", "by month (local)", "Mon–Sun 07:00–23:00",
                       "(America/Chicago)", "Erlang C for the same inputs, where no call goes to police:", "a team is 2 people",
                       "coverage gaps among the", "service minutes assumed", "served: not measured"):
            assert phrase in text, phrase
        assert f"{teams} teams on duty" in text
    staffing = run_divert(env, "staffing", "--city", "san_antonio", "--program", "sa-east-crisis", "--hours", HOURS,
                          timeout=300)
    assert staffing.returncode == 0, staffing.stderr
    out = staffing.stdout
    assert all(len(line) <= 110 for line in out.splitlines()), out
    assert "teams needed, simulated / Erlang C" in out and "Erlang C, hour by hour" in out
    assert "team-hours a week:" in out and "a team is 2 people" in " ".join(out.split())
    assert re.search(r"simulated: [\d,]+ team-hours a week \([\d,]+ responder-hours\)", out)
    grid = out[out.index("teams needed, simulated"):].splitlines()[2:9]
    assert [row.split()[0] for row in grid] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert all(row.split()[1] == "·" for row in grid)            # 00–04 is outside the program's hours
    recon = run_divert(env, "funnel", "--city", "san_antonio", "--reconcile")
    assert recon.returncode == 0 and "records no final call type" in recon.stdout, recon.stderr


def test_funnel_errors_are_one_line(sa_env):
    env, _ = sa_env
    for args, message in (
            ((), "error: name the program: --program NAME or --route crisis|navigator (one of them)"),
            (("--program", "nope"), "error: no program named 'nope'"),
            (("--route", "crisis", "--hours", "7-23"), "error: --hours: '7-23' is not like"),
            (("--route", "crisis", "--areas", "beat=X"), "error: --areas: san_antonio's calls carry no layer 'beat'")):
        result = run_divert(env, "funnel", "--city", "san_antonio", *args)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_council_report_draws_the_coverage_gaps(sa_env, tmp_path):
    from tests.integration.test_council_map import screenshot

    env, _ = sa_env
    page = tmp_path / "funnel.html"
    result = run_divert(env, "report", "--city", "san_antonio", "--program", "sa-east-crisis", "--teams", "2",
                        "--hours", HOURS, "--output", str(page), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    html = page.read_text()
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    for phrase in ("From eligible to served", "Coverage gaps", "every team busy", "Erlang C, given the same calls",
                   "records no final call type"):
        assert phrase in text, phrase
    assert html.count("<rect class='cell'") == 3 * 7 * 24
    assert "Mon–Sun 07:00–23:00" in text and not re.search(r"outside hours: 0 eligible", text)
    assert "The program's before/after is not evaluated" in text          # five days cannot be evaluated
    assert "No boundary file of San Antonio's substations is available" in text   # so no gap map
    assert "class='gap-map'" not in html
    fills = set(re.findall(r"<rect class='cell'[^>]* fill='(#[0-9a-f]{6})'", html)) - {"#f8f9fa"}
    assert fills, "no gap drawn"
    rgb = screenshot(page, tmp_path, "funnel")     # kept: <basetemp>/test_council_report_draws_the_0/
    coloured = sum((np.abs(rgb - tuple(int(f[i:i + 2], 16) for i in (1, 3, 5))).sum(axis=-1) < 6).sum() for f in fills)
    assert coloured > 2_000, coloured


def test_seattle_crisis_funnel_and_reconciliation(db_dsn, shared_data, service_env):
    asyncio.run(seed_seattle(db_dsn, shared_data, timed_one=False))
    env = dict(service_env, DIVERT_DATABASE_URL=db_dsn)
    result = run_divert(env, "funnel", "--city", "seattle", "--route", "crisis", "--teams", "1", timeout=180)
    assert result.returncode == 0, result.stderr
    counts = stage_counts(result.stdout)
    assert list(counts) == list(STAGES) and counts["served"] is None
    assert counts["community calls"] > counts["eligible by initial type"] >= counts["after disqualifiers"] > 0
    assert re.search(r"^by (precinct|sector|beat) \(calls reaching each stage\)", result.stdout, re.M), result.stdout
    recon = run_divert(env, "funnel", "--city", "seattle", "--reconcile")
    assert recon.returncode == 0, recon.stderr
    out = recon.stdout
    assert all(len(line) <= 110 for line in out.splitlines()), out
    assert "eligible initial types that ended as a type the policy keeps with police" in out
    rows = re.findall(r"^([A-Z0-9]+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+) \(\d+%\)", out, re.M)
    assert rows and all(int(n.replace(",", "")) >= int(k.replace(",", "")) for _, _, n, k in rows), out
    assert "the reverse:" in out and re.search(r"^all eligible\s+[\d,]+", out, re.M)


def test_seattle_council_report_maps_the_coverage_gaps(db_dsn, service_env, tmp_path):
    """Seattle has beats in its boundary file: the gaps are drawn on them, one map per gap."""
    from tests.integration.test_council_map import screenshot

    env = dict(service_env, DIVERT_DATABASE_URL=db_dsn)
    loaded = run_divert(env, "load", "--city", "seattle", "--only", "calls", timeout=300)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    added = run_divert(env, "program", "add", "--name", "c3-crisis", "--city", "seattle", "--layer", "beat",
                       "--areas", "C3", "--routes", "crisis", "--start", "2020-01-01")
    assert added.returncode == 0, added.stderr
    page = tmp_path / "seattle-gaps.html"
    result = run_divert(env, "report", "--city", "seattle", "--program", "c3-crisis", "--teams", "1", "--hours", HOURS,
                        "--layer", "beat", "--output", str(page), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    html = page.read_text()
    maps = re.findall(r"<svg[^>]* class='gap-map'.*?</svg>", html)
    assert len(maps) == 3
    cell = re.compile(r"<path class='gap-area' data-area='([^']+)' d='M[^']+' fill='(#[0-9a-f]{6})'")
    fills = [dict(cell.findall(m)) for m in maps]
    assert all(len(f) == 54 for f in fills)                               # every beat of the file, each map
    shaded = {fill for f in fills for fill in f.values()} - {"#dee2e6", "#f8f9fa"}
    assert shaded, "no gap drawn"
    # outside areas: every beat but C3 that had eligible calls; C3 none (it is the program's area)
    outside = fills[1]
    assert outside["C3"] in ("#f8f9fa",) and any(v not in ("#dee2e6", "#f8f9fa") for a, v in outside.items() if a != "C3")
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    assert "Where they arise: darker beats missed more eligible calls" in text and "No boundary file" not in text
    rgb = screenshot(page, tmp_path, "seattle-gaps")     # kept: <basetemp>/test_seattle_council_report_m0/
    coloured = sum((np.abs(rgb - tuple(int(f[i:i + 2], 16) for i in (1, 3, 5))).sum(axis=-1) < 6).sum()
                   for f in shaded)
    assert coloured > 500, coloured
