"""The shipped Prometheus rules pass their promtool tests; `divert alerts tune` reports per week."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from click.testing import CliRunner

from divert.cli.alerts import command as alerts_command

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "dashboards" / "rules"


def test_promtool_rule_tests_pass():
    promtool = shutil.which("promtool")
    assert promtool, "apt-get install prometheus (promtool)"
    tests = sorted((RULES / "tests").glob("*.yml"))
    assert tests
    result = subprocess.run([promtool, "test", "rules", *map(str, tests)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_spike_alerts_route_to_the_managers():
    config = yaml.safe_load((ROOT / "dashboards" / "alertmanager.yml").read_text())
    (route,) = [r for r in config["route"]["routes"] if 'alertname = "DiversionEligibleSpike"' in r["matchers"]]
    assert route["receiver"] == "managers-webhook"
    assert route["group_by"] == ["alertname", "agency"]  # one message per city, not per area
    assert route["repeat_interval"] == "6h"
    rules = yaml.safe_load((RULES / "divert_spikes.yml").read_text())
    (spike,) = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "DiversionEligibleSpike"]
    assert "by (agency, area_layer, area, route)" in spike["expr"]


def _history(tmp_path):
    rng = np.random.default_rng(1)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for day in list(range(0, 5)) + list(range(31, 36)) + list(range(60, 65)):  # sampled days only
        for h in range(24):
            n = int(rng.poisson(8 if 8 <= h < 20 else 2))
            if day == 62 and h in (14, 15, 16):
                n += 40  # a planted spike
            for j in range(n + 3):
                rows.append({"agency": "san_antonio", "received_at": start + timedelta(days=day, hours=h, seconds=j * 3600 // (n + 3)),
                             "eligible": j < n, "route": "crisis" if j < n else "police",
                             "areas": {"substation": "WEST"}, "policy_version": "p1", "time_precision": "second"})
    path = tmp_path / "calls.parquet"
    pd.DataFrame(rows).to_parquet(path)
    return path


def _settings(tmp_path, detector: str, **block):
    ref = yaml.safe_load((ROOT / "reference/alerting.yaml").read_text())
    ref["detector"] = detector
    ref["detectors"][detector].update(block)
    path = tmp_path / "alerting.yaml"
    path.write_text(yaml.safe_dump(ref))
    return path


def test_tune_reports_alerts_per_covered_week_in_local_time(tmp_path):
    path = _history(tmp_path)
    settings = _settings(tmp_path, "threshold", min_history_windows=168)
    result = CliRunner().invoke(alerts_command, ["tune", "--city", "san_antonio", "--input", str(path),
                                                 "--layer", "city", "--settings", str(settings), "--no-power"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "360 covered windows of 60 min" in result.output
    assert "alerts: 1 raised" in result.output
    # 14:00 UTC is 08:00 in San Antonio, and the alert says it in a manager's words
    assert "2024-03-03 08:00 CST city=all crisis: +" in result.output
    assert "crisis-eligible calls in the last 2 hours in the whole city" in result.output


def test_tune_prints_the_power_curve_of_the_sequential_detector(tmp_path):
    path = _history(tmp_path)
    settings = _settings(tmp_path, "cusum", min_history_windows=4 * 96)
    result = CliRunner().invoke(alerts_command, ["tune", "--city", "san_antonio", "--input", str(path),
                                                 "--layer", "city", "--settings", str(settings)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "detector=cusum" in result.output and "1,404 covered windows of 15 min" in result.output
    assert "alerts: 1 raised" in result.output  # the planted surge of the history itself
    assert "power curve: recall and median minutes" in result.output
    rows = [line.split() for line in result.output.splitlines() if line.startswith("  city ") and "%" in line]
    assert [r[1] for r in rows] == ["+50%", "+100%", "+200%", "+300%", "+600%"]
    assert "1 h: recall" in result.output and "3 h: recall" in result.output
    assert "smallest spike caught at recall 0.9: city 2 h: +" in result.output


def test_tune_explains_a_file_that_is_not_classified(tmp_path):
    path = tmp_path / "x.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    result = CliRunner().invoke(alerts_command, ["tune", "--city", "san_antonio", "--input", str(path)])
    assert result.exit_code != 0 and "divert classify" in str(result.exception or result.output)
