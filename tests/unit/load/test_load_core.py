"""The history load's pure core: order, batches and records as the stream makes them."""

from __future__ import annotations

from divert.adapters import load_adapter
from divert.adapters.crime import load_crime_adapter
from divert.classify import Classifier
from divert.crosswalk import load_crosswalk
from divert.load import cad_batches, crime_batches
from divert.policy import load_policy
from tests.helpers import slice_csv


def test_cad_batches_keep_replay_order_and_dead_letter_bad_rows(shared_data, tmp_path):
    path = slice_csv(shared_data / "milwaukee/mpd_calls_for_service_2018-05-01_to_2018-05-21.csv.gz",
                     tmp_path / "m.csv", 300, extra_lines=["1,not a time,X,,,4,THEFT,open"])
    adapter = load_adapter("milwaukee")
    clf = Classifier(load_crosswalk("milwaukee"), load_policy())
    batches = list(cad_batches(adapter, clf, [path], size=100))
    assert [b.rows for b in batches] == [100, 100, 100, 1]
    calls = [c for b in batches for c in b.calls]
    assert len(calls) == 300
    times = [c.call.received_at for c in calls]
    assert times == sorted(times)
    dead = [d for b in batches for d in b.dead_letters]
    assert len(dead) == 1 and dead[0].source_topic == f"file:{path}" and dead[0].field == "time"


def test_chicago_crime_batches_normalize_codes(shared_data, tmp_path):
    path = slice_csv(shared_data / "chicago/crimes_2017.csv.gz", tmp_path / "c.csv", 500)
    (batch,) = list(crime_batches(load_crime_adapter("chicago"), [path], size=1000))
    assert len(batch.crime_reports) == 500 and not batch.dead_letters
    for r in batch.crime_reports:
        beat = int(r.areas["beat"])
        assert r.areas["district"] == str(beat // 100) or r.areas["district"] == "31"
        assert r.areas["sector"] == str(beat // 10 * 10)
        assert r.arrest in (True, False)


def test_the_sector_rule_matches_the_beat_boundary_file(shared_data):
    """sector = district + the beat's third digit, as the boundary file's DISTRICT/SECTOR say."""
    import csv
    import gzip
    import sys

    # the polygons' WKT is longer than a CSV field may be; the limit is the process's, so it is
    # put back (the CLI tests check the message a longer field gets)
    limit = csv.field_size_limit(sys.maxsize)
    try:
        with gzip.open(shared_data / "chicago/police_beats_wkt.csv.gz", "rt", newline="") as f:
            beats = list(csv.DictReader(f))
    finally:
        csv.field_size_limit(limit)
    assert len(beats) == 277
    for b in beats:
        num = int(b["BEAT_NUM"])
        assert num // 10 * 10 == int(b["DISTRICT"]) * 100 + int(b["SECTOR"]) * 10, b["BEAT_NUM"]
