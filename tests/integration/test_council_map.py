"""The council page's map in headless Chromium: Seattle's beats from its boundary file, shaded by
how far policing departs from reported crime; San Antonio, with no boundary file and no crime
data, gets sentences and no suggestion of data it does not have.

Real data: every Seattle call and its reported crime by beat (`divert load`); every 25th San
Antonio call. Screenshots of the whole page are kept in the test's folder (council-<city>.png).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape

import numpy as np
import pytest
from PIL import Image

from divert.evaluation.report import fetches_anything
from divert.report.map import NO_VALUE
from tests.helpers import run_divert
from tests.integration.test_report_render import CHROMIUM_FLAGS

AREA = re.compile(r"<path class='area' data-area='([^']+)' d='M[^']+' fill='(#[0-9a-f]{6})'")


def screenshot(page, tmp_path, name: str) -> np.ndarray:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "apt-get install chromium"
    shot, profile = tmp_path / f"council-{name}.png", tmp_path / f"profile-{name}"
    profile.mkdir()
    flags = [f for f in CHROMIUM_FLAGS if not f.startswith("--window-size")] + ["--window-size=1280,9000"]
    done = subprocess.run([chromium, *flags, f"--user-data-dir={profile}", f"--screenshot={shot}",
                           page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.is_file(), done.stderr[-2000:]
    return np.asarray(Image.open(shot).convert("RGB"), dtype=int)


def test_seattle_map_shades_its_beats(db_dsn, service_env, tmp_path):
    env = dict(service_env, DIVERT_DATABASE_URL=db_dsn)
    loaded = run_divert(env, "load", "--city", "seattle", "--only", "calls", "--only", "crime", timeout=300)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    page = tmp_path / "seattle.html"
    result = run_divert(env, "report", "--city", "seattle", "--layer", "beat", "--output", str(page), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    html = page.read_text()
    assert not fetches_anything(html)
    paths = AREA.findall(html)
    assert len(paths) == len({a for a, _ in paths}) == 54               # one path per beat of the file
    shaded = {a for a, fill in paths if fill != NO_VALUE}
    assert len(shaded) >= 2 and shaded <= {a for a, _ in paths}, shaded
    assert "share of reported crime" in unescape(html) and "not compared" in html
    rgb = screenshot(page, tmp_path, "seattle")
    # the map is drawn: its grey "not compared" beats and at least one ramp colour fill real pixels
    grey = (np.abs(rgb - (0xde, 0xe2, 0xe6)).sum(axis=-1) < 6).sum()
    fills = {fill for a, fill in paths if a in shaded} - {"#f7f7f7"}
    coloured = sum((np.abs(rgb - tuple(int(f[i:i + 2], 16) for i in (1, 3, 5))).sum(axis=-1) < 6).sum()
                   for f in fills)
    assert grey > 5_000 and (coloured > 500 or not fills), (grey, coloured, fills)


@pytest.mark.parametrize("every", [25])
def test_san_antonio_page_says_what_it_lacks(db_dsn, shared_data, service_env, tmp_path, every):
    import asyncio

    from tests.integration.test_dashboards_sql import seed_san_antonio

    asyncio.run(seed_san_antonio(db_dsn, shared_data, every))
    env = dict(service_env, DIVERT_DATABASE_URL=db_dsn)
    page = tmp_path / "san_antonio.html"
    result = run_divert(env, "report", "--city", "san_antonio", "--output", str(page), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    text = unescape(page.read_text())
    assert "San Antonio's reported crime is not among the data divert reads" in text
    assert "divert crime" not in text and "<path class='area'" not in text and "latitude" not in text
    assert "no community survey of San Antonio" in text and "(local time, America/Chicago)" in text
    rgb = screenshot(page, tmp_path, "san_antonio")
    assert rgb.std() > 20
