"""The thin commands: classify a real file to parquet; suggest and audit crosswalks."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from divert.cli import cli
from divert.paths import shared_data_dir


def test_classify_seattle_to_parquet(tmp_path):
    src = shared_data_dir() / "seattle" / "db_call_data_2018-2023.csv.gz"
    bad = tmp_path / "raw.csv"
    df = pd.read_csv(src, dtype=str)
    df.loc[0, "Original Time Queued"] = "yesterday"  # one row that cannot be normalized
    df.to_csv(bad, index=False)
    out = tmp_path / "out.parquet"
    res = CliRunner().invoke(cli, ["classify", "--city", "seattle", "--input", str(bad),
                                   "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 failed normalization" in res.output
    got = pd.read_parquet(out)
    assert len(got) == len(df) - 1 - df.iloc[1:]["CAD Event Number"].duplicated().sum()
    assert set(got.policy_version) == {"default-2026.1"} and got.reasons.map(len).min() >= 1


def test_suggest_and_audit(tmp_path):
    types = tmp_path / "types.csv"
    types.write_text("call_type,calls\nWELFARE CHK,50\nMAN WITH GUN,20\nLOUD PARTY,30\n"
                     "DOMESTIC DISTURBANCE,10\nXYZZY,1\n")
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(cli, ["crosswalk", "suggest", "--input", str(types), "--output", str(out)])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out).set_index("call_type")
    assert got.loc["WELFARE CHK", "route"] == "crisis"
    assert got.loc["MAN WITH GUN", "route"] not in ("crisis", "navigator")
    assert got.loc["DOMESTIC DISTURBANCE", "route"] not in ("crisis", "navigator")
    assert bool(got.loc["XYZZY", "needs_review"])
    res = CliRunner().invoke(cli, ["crosswalk", "audit", "--city", "milwaukee", "--input", str(types)])
    assert res.exit_code == 1 and "unmapped" in res.output
