"""`divert report` renders in headless Chromium, offline, with its charts and the burden map.

Real data: Seattle's full export 2018–2023 (calls) and its reported crime by beat; Chromium is
the Debian package ``chromium``.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import numpy as np
from PIL import Image

from divert.evaluation.report import fetches_anything
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
                 "Assumed on-scene time", "Dissimilarity index", "Survey layers", "Sources", "team-hours"):
        assert text in html, text
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
