from __future__ import annotations

import csv
import gzip
from itertools import islice

from click.testing import CliRunner

from divert.cli import cli
from divert.paths import shared_data_dir


def test_audit_accounts_for_every_row(tmp_path):
    src = shared_data_dir() / "milwaukee" / "mpd_calls_for_service_2018-05-01_to_2018-05-21.csv.gz"
    path = tmp_path / "slice.csv"
    with gzip.open(src, "rt", newline="") as f, open(path, "w", newline="") as out:
        writer = csv.writer(out)
        for row in islice(csv.reader(f), 301):  # header + 300 real rows
            writer.writerow(row)
        writer.writerow(["", "2018-05-01 00:00:00", "", "", "", "1", "THEFT", ""])   # no id
        writer.writerow(["9", "31/31/2018 99:00", "", "", "", "1", "THEFT", ""])      # bad time
    result = CliRunner().invoke(cli, ["ingest", "audit", "--city", "milwaukee", "--input", str(path)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "input rows             302" in out
    assert "canonical              300" in out
    assert "dead-lettered            2" in out
    assert "field=id reason=missing" in out and "field=time reason=unparseable_time" in out
    assert "accounted       OK" in out


def test_audit_unknown_city():
    result = CliRunner().invoke(cli, ["ingest", "audit", "--city", "atlantis"])
    assert result.exit_code != 0
