"""The evaluation report renders in headless Chromium, offline, with its charts visible.

Real data: every 25th San Antonio call (the dashboards test's seed), a program on the NORTH
substation from 2024-09-01, evaluated by `divert evaluate` as a user would run it (every method,
intervals calibrated on the city's own areas and dates, led by the method whose placebo
false-positive rate is closest to 5%); and one on CENTRAL, whose share of the calls falls when
DOWNTOWN appears in mid-2024: a boundary change, so no headline effect.
Needs the Debian package ``chromium``.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess

import asyncpg
import numpy as np
import pytest
from PIL import Image

from divert.evaluation.report import fetches_anything
from tests.helpers import run_divert
from tests.integration.test_dashboards_sql import seed_san_antonio

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1280,2200"]


@pytest.fixture
def evaluated_report(db_dsn, shared_data, service_env, tmp_path):
    asyncio.run(seed_san_antonio(db_dsn, shared_data))
    env = dict(service_env, DIVERT_DATABASE_URL=db_dsn)
    added = run_divert(env, "program", "add", "--name", "north-crisis-team", "--city", "san_antonio",
                       "--layer", "substation", "--areas", "NORTH", "--routes", "crisis,navigator",
                       "--start", "2024-09-01", "--description", "A crisis team in the North substation")
    assert added.returncode == 0, added.stderr
    report = tmp_path / "report.html"
    result = run_divert(env, "evaluate", "--program", "north-crisis-team", "--outcome", "police_calls_eligible",
                        "--placebo-runs", "6", "--output", str(report), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return report, result.stdout, db_dsn, env


def test_report_renders_with_charts_in_headless_chromium(evaluated_report, tmp_path):
    report, stdout, dsn, _ = evaluated_report
    html = report.read_text()
    assert "policy version default-" in html and "<svg" in html and not fetches_anything(html)
    assert "In plain words" in html and "95% interval" in html
    assert "days with data" in stdout
    # display names in the headline; the lead method, its placebo rate and the MDE come first
    assert "North crisis team, San Antonio: what changed?" in html
    paragraphs = stdout.split("\n\n")
    assert paragraphs[0].startswith("Lead method: ") and "false-positive rate" in paragraphs[0]
    assert "Minimum detectable effect" in stdout and "randomisation over" in stdout
    assert "Methods compared" in html and "synthetic control" in html
    # comparison areas are places: the mapping's non-geographic values never enter it
    compared = re.search(r"<li>Untreated areas compared&#58; ([^<]*)</li>", html).group(1)
    assert "NORTH" not in compared and {"EAST", "WEST"} <= set(compared.rstrip(".").split(", ")), compared
    assert not any(p in compared for p in ("INFO", "TRAFFIC", "TAC5", "SAPD OUTSIDE AREA")), compared
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "apt-get install chromium"
    shot = tmp_path / "report.png"
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
                           report.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.is_file(), done.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    non_white = float((pixels < 235).mean())
    assert pixels.std() > 20 and non_white > 0.03, (pixels.std(), non_white)
    # the charts: the band where the first figure sits holds coloured, drawn pixels, not text alone
    rgb = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    coloured = (np.abs(rgb[..., 0] - rgb[..., 2]) > 60).mean()
    assert coloured > 0.002, coloured

    async def stored():
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetchrow("select e.*, (select count(*) from program_evaluation_days d "
                                       "where d.evaluation_id = e.id) as days from program_evaluations e")
        finally:
            await conn.close()

    row = asyncio.run(stored())
    assert row["method"] in ("sc", "did", "its", "wdd") and row["ci_low"] <= row["effect"] <= row["ci_high"]
    assert row["days"] == row["pre_days"] + row["post_days"] and row["policy_version"].startswith("default-")
    assert "Minimum detectable effect" in row["summary"]


def test_a_boundary_change_withholds_the_headline(evaluated_report, tmp_path):
    """CENTRAL loses calls to the new DOWNTOWN substation in mid-2024: said first, no effect reported."""
    _, _, dsn, env = evaluated_report
    added = run_divert(env, "program", "add", "--name", "central-navigators", "--city", "san_antonio",
                       "--layer", "substation", "--areas", "CENTRAL", "--routes", "navigator",
                       "--start", "2024-09-01")
    assert added.returncode == 0, added.stderr
    report = tmp_path / "central.html"
    result = run_divert(env, "evaluate", "--program", "central-navigators", "--method", "sc",
                        "--placebo-runs", "3", "--output", str(report), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Boundary change: from 2024-0"), result.stdout[:400]
    assert "Downtown appeared" in result.stdout and "No effect is reported" in result.stdout
    assert "withheld" in report.read_text() and "Not stored" in result.stdout

    async def count():
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetchval("select count(*) from program_evaluations where program = 'central-navigators'")
        finally:
            await conn.close()

    assert asyncio.run(count()) == 0


def test_the_council_page_shows_the_same_evaluation(evaluated_report, tmp_path):
    """`divert report --program` runs the evaluation `divert evaluate` runs: the lead method, its
    calibrated interval and the MDE, with the program's display name."""
    _, stdout, _, env = evaluated_report
    page = tmp_path / "council.html"
    result = run_divert(env, "report", "--city", "san_antonio", "--program", "north-crisis-team",
                        "--layer", "substation", "--output", str(page), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    html = page.read_text()
    lead = stdout.split("\n\n")[0].split(":", 1)[1].split("(")[0].strip()
    assert "Evaluation: north-crisis-team" in html and "Minimum detectable effect" in html
    assert lead.split()[0] in html and not fetches_anything(html)
