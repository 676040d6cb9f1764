"""`divert report` renders in headless Chromium, offline, with its charts and the burden map.

Real data: Seattle's full export 2018–2023 (calls) and its reported crime by beat; Chromium is
the Debian package ``chromium``.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from html import unescape

import numpy as np
from PIL import Image

from divert.evaluation.report import fetches_anything
from divert.report.map import NO_VALUE
from tests.helpers import run_divert
from tests.integration.test_costs import seed_seattle
from tests.integration.test_report_render import CHROMIUM_FLAGS


def test_council_report_renders_with_charts(db_dsn, shared_data, service_env, tmp_path):
    asyncio.run(seed_seattle(db_dsn, shared_data, timed_one=False))
    env = dict(service_env, DIVERT_DATABASE_URL=db_dsn)
    loaded = run_divert(env, "crime", "load", "--city", "seattle", timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    page = tmp_path / "council.html"
    result = run_divert(env, "report", "--city", "seattle", "--layer", "beat", "--output", str(page), timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    html = page.read_text()
    assert not fetches_anything(html) and html.count("<svg") >= 3
    for text in ("In plain words", "policy version default-", "cost model seattle-FY2020", "$93.34",
                 "Assumed on-scene time", "Dissimilarity index", "What residents say", "Sources", "team-hours",
                 "no community survey of Seattle", "(local time, America/Los_Angeles)", "EMS / fire"):
        assert text in unescape(html), text
    # for a council: no developer text, the policy version said once (at the top), not on every row
    for text in ("survey_layers", "divert.surveys", "migration", "area_divergence", "divert/burden.py",
                 "divert crime replay", " UTC"):
        assert text not in unescape(html), text
    assert html.count("policy version default-") == 1
    # numbers: one sector's calls against city-wide crime and budget are said so, not priced city-wide
    words = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    for text in ("COVERAGE: calls cover", "not priced against police time", "a week over the"):
        assert text in words, text
    assert not re.search(r"\d% of the city's", words), "a share of one sector's events called the city's"
    # the map: the city's beats from its boundary file, one path per beat, shaded where compared
    paths = re.findall(r"<path class='area' data-area='([^']+)' d='M[^']+' fill='(#[0-9a-f]{6})'", html)
    assert len(paths) == len({a for a, _ in paths}) == 54, len(paths)   # the shapefile's 54 beats
    shaded = {a for a, fill in paths if fill != NO_VALUE}
    assert "C3" in shaded, shaded                                # this extract's one beat with crime and calls
    assert "not compared" in html and "share of reported crime" in html
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "apt-get install chromium"
    shot, profile = tmp_path / "council.png", tmp_path / "profile"
    profile.mkdir()
    done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
                           page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.is_file(), done.stderr[-2000:]
    grey = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert grey.std() > 20 and (grey < 235).mean() > 0.03
    rgb = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    assert (np.abs(rgb[..., 0] - rgb[..., 2]) > 60).mean() > 0.002   # coloured chart pixels, not text alone


def test_report_output_errors_are_one_line(service_env, tmp_path):
    env = dict(service_env)
    missing = tmp_path / "no-such-folder" / "council.html"
    result = run_divert(env, "report", "--city", "seattle", "--output", str(missing))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"error: cannot write the report to {missing}: the folder {missing.parent} does not exist"
