"""Every CLI input error is one line on stderr naming the file, a non-zero exit, never a traceback.

The hostile inputs are real slices of the shared data, corrupted: bytes that are not UTF-8, a
field over the csv module's limit, a gzip file cut in half, a cost model with an impossible
number, a shared data folder that does not exist, a folder where a file is expected.
"""

from __future__ import annotations

import csv
import gzip
import sys
from itertools import islice
from pathlib import Path

import pytest
import yaml

from divert.cli import main
from divert.paths import REPO_ROOT, shared_data_dir

SA = "san_antonio/sapd_calls_first_days_each_month_2022-11_to_2026-08.csv.gz"
CHICAGO = "chicago/crimes_2017.csv.gz"


def _real_lines(relpath: str, n: int) -> list[bytes]:
    """The header and n - 1 rows of a shared data file, as raw lines."""
    with gzip.open(shared_data_dir() / relpath, "rb") as f:
        return list(islice(f, n))


def _non_utf8(tmp_path: Path, relpath: str) -> Path:
    lines = _real_lines(relpath, 8)
    lines[5] = lines[5].replace(b",", b",\xe9\xff", 1)  # Latin-1 bytes in the sixth line
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"".join(lines))
    return path


def _huge_field(tmp_path: Path, relpath: str) -> Path:
    with gzip.open(shared_data_dir() / relpath, "rt", newline="") as f:
        rows = list(islice(csv.reader(f), 6))
    rows[3][2] = "x" * 200_000  # a 200 KB field in the fourth line
    path = tmp_path / "huge.csv"
    with open(path, "w", newline="") as out:
        csv.writer(out).writerows(rows)
    return path


def _cut_gzip(tmp_path: Path, relpath: str) -> Path:
    data = gzip.compress(b"".join(_real_lines(relpath, 3000)))
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def _folder(tmp_path: Path, relpath: str) -> Path:
    path = tmp_path / "a_folder.csv"
    path.mkdir()
    return path


HOSTILE = {"non_utf8": _non_utf8, "huge_field": _huge_field, "cut_gzip": _cut_gzip}


@pytest.fixture
def run(monkeypatch, capsys):
    """Run ``divert ARGS`` as the console script does; (exit code, stderr)."""
    # never reach for a broker or a database: the input must be refused before
    monkeypatch.setenv("DIVERT_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("DIVERT_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")

    def go(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["divert", *map(str, args)])
        with pytest.raises(SystemExit) as exited:
            main()
        return exited.value.code, capsys.readouterr().err

    return go


def _assert_one_line(code: int, err: str, *names: object) -> None:
    assert code not in (0, None), err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for name in names:
        assert str(name) in err, err


def _cad_commands(path: Path, tmp_path: Path) -> list[list[str]]:
    return [
        ["ingest", "audit", "--city", "san_antonio", "--input", path],
        ["classify", "--city", "san_antonio", "--input", path, "--output", tmp_path / "out.parquet"],
        ["replay", "--city", "san_antonio", "--input", path],
        ["alerts", "tune", "--city", "san_antonio", "--input", path],
        ["crosswalk", "audit", "--city", "san_antonio", "--input", path],
    ]


@pytest.mark.parametrize("command", range(5), ids=["ingest", "classify", "replay", "alerts", "crosswalk"])
@pytest.mark.parametrize("hostile", sorted(HOSTILE))
def test_cad_file_faults_are_one_line(run, tmp_path, hostile, command):
    path = HOSTILE[hostile](tmp_path, SA)
    code, err = run(*_cad_commands(path, tmp_path)[command])
    _assert_one_line(code, err, path)


@pytest.mark.parametrize("hostile", sorted(HOSTILE))
def test_crime_file_faults_are_one_line(run, tmp_path, hostile):
    path = HOSTILE[hostile](tmp_path, CHICAGO)
    code, err = run("crime", "replay", "--city", "chicago", "--input", path)
    _assert_one_line(code, err, path)


def test_the_line_of_the_fault_is_named(run, tmp_path):
    code, err = run("ingest", "audit", "--city", "san_antonio", "--input", _non_utf8(tmp_path, SA))
    _assert_one_line(code, err, "latin1.csv:6: not UTF-8", "0xe9")
    code, err = run("ingest", "audit", "--city", "san_antonio", "--input", _huge_field(tmp_path, SA))
    _assert_one_line(code, err, "huge.csv:4:", "131,072")
    code, err = run("ingest", "audit", "--city", "san_antonio", "--input", _cut_gzip(tmp_path, SA))
    _assert_one_line(code, err, "cut.csv.gz:", "cut short")


def test_a_folder_given_as_the_input(run, tmp_path):
    path = _folder(tmp_path, SA)
    code, err = run("classify", "--city", "san_antonio", "--input", path, "--output", tmp_path / "o.parquet")
    _assert_one_line(code, err, path, "folder")


def _cost_model(tmp_path: Path, change) -> Path:
    doc = yaml.safe_load((REPO_ROOT / "reference" / "costs" / "san_antonio.yaml").read_text(encoding="utf-8"))
    # the on-scene minutes the model names sit beside it
    on_scene = doc.get("on_scene")
    if isinstance(on_scene, str):
        (tmp_path / on_scene).write_bytes((REPO_ROOT / "reference" / "costs" / on_scene).read_bytes())
    change(doc)
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _set(*keys, value):
    def change(doc):
        for key in keys[:-1]:
            doc = doc[key]
        doc[keys[-1]] = value
    return change


MODEL_FAULTS = {
    "paid_hours_0": (_set("police_unit_hour", "paid_hours_per_fte", "value", value=0), "paid_hours_per_fte.value"),
    "negative_budget": (lambda d: d["police_unit_hour"]["scenarios"]["low"]["dollars"][0].update(amount=-456043949),
                        "scenarios.low.dollars[0].amount"),
    "share_over_1": (lambda d: d["police_unit_hour"]["scenarios"]["low"]["dollars"][0].update(share=1.5),
                     "scenarios.low.dollars[0].share"),
    "target_share_1": (_set("alternatives", "crisis", "target_share", value=1), "alternatives.crisis.target_share"),
    "service_minutes_0": (_set("alternatives", "crisis", "service_minutes", "value", value=0),
                          "alternatives.crisis.service_minutes"),
    "team_of_0": (_set("alternatives", "crisis", "responders_per_team", value=0),
                  "alternatives.crisis.responders_per_team"),
    "fiscal_year_text": (_set("fiscal_year", value="soon"), "fiscal_year"),
    "empty": (lambda d: d.clear(), "is required"),
}


@pytest.mark.parametrize("subcommand", [[], ["sync"]], ids=["costs", "costs-sync"])
@pytest.mark.parametrize("fault", sorted(MODEL_FAULTS))
def test_cost_model_numbers_are_checked_when_loading(run, tmp_path, fault, subcommand):
    change, key = MODEL_FAULTS[fault]
    path = _cost_model(tmp_path, change)
    code, err = run("costs", *subcommand, "--city", "san_antonio", "--model", path)
    _assert_one_line(code, err, path, key)


@pytest.mark.parametrize("content", [b"fiscal_year: [\n  2019\npolice: x: y\n", b"city: caf\xe9\n", b"- a\n- b\n"],
                         ids=["bad_yaml", "non_utf8", "a_list"])
def test_unreadable_cost_model(run, tmp_path, content):
    path = tmp_path / "model.yaml"
    path.write_bytes(content)
    code, err = run("costs", "--city", "san_antonio", "--model", path)
    _assert_one_line(code, err, path)


@pytest.mark.parametrize("args", [
    ["ingest", "audit", "--city", "san_antonio"],
    ["crosswalk", "audit", "--city", "san_antonio"],
    ["classify", "--city", "seattle", "--output", "unused.parquet"],
    ["crime", "replay", "--city", "chicago"],
], ids=["ingest", "crosswalk", "classify", "crime"])
def test_missing_shared_data_folder(run, monkeypatch, tmp_path, args):
    nowhere = tmp_path / "nowhere"
    monkeypatch.setenv("DIVERT_SHARED_DATA", str(nowhere))
    code, err = run(*args)
    _assert_one_line(code, err, nowhere, "DIVERT_SHARED_DATA")


def test_bad_times_are_one_line(run, tmp_path):
    code, err = run("replay", "--city", "san_antonio", "--input", _non_utf8(tmp_path, SA), "--from", "yesterday")
    _assert_one_line(code, err, "yesterday")


def test_a_survey_mapping_that_is_not_utf8(run, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    code, err = run("survey", "estimate", "--mapping", path, "--item", "x", "--by", "y")
    _assert_one_line(code, err, path)


@pytest.fixture(scope="module")
def evaluated():
    """One evaluation (hundreds of placebo fits) for every name below: only the names differ."""
    from divert.evaluation import evaluate
    from divert.evaluation._synthetic import synthetic_panel

    panel = synthetic_panel(effect=0.3)
    return (panel, *evaluate(panel, "did", placebo_runs=2))


@pytest.mark.parametrize("name", ["x src=y", "x src=//evil.example/p.png", "a url(//b) @import <img src='//c'>",
                                  "budget $\\frac{1}{0}$"])
def test_a_program_name_can_never_look_like_a_fetch(name, evaluated):
    """`divert evaluate` renders the program's name, areas and notes: escaped, never a fetch."""
    from divert.evaluation.report import EvaluationResult, ProgramInfo, fetches_anything, render

    panel, estimate, placebo = evaluated
    info = ProgramInfo(name, "example", "district", (name, "B"), ("crisis",), panel.start, description=name)
    html = render(EvaluationResult(info, "calls", "community calls, per day", "calls per day", estimate, placebo,
                                   (name,), (name,)))
    assert not fetches_anything(html)
    assert "<img" not in html


def test_an_output_folder_that_does_not_exist(run, tmp_path):
    """The last-resort guard in main(): an OSError the readers did not translate names its file."""
    types = tmp_path / "types.csv"
    types.write_text("call_type,calls\nWELFARE CHECK,3\n", encoding="utf-8")
    out = tmp_path / "missing" / "out.csv"
    code, err = run("crosswalk", "suggest", "--input", types, "--output", out)
    _assert_one_line(code, err, out, "No such file")
