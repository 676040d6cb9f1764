"""Raw city records → worker (normalize, classify) → canonical topics, on the real broker."""

from __future__ import annotations

import asyncio
import subprocess
import time
import urllib.request

import msgspec
from prometheus_client.parser import text_string_to_metric_families

from divert.stack import free_port
from schemas import decode_cad_event, decode_classified_call, decode_dead_letter
from tests.helpers import kcat_env, read_topic, run_divert, running_worker, slice_csv, wait_for_rows

MALFORMED = [
    '9990001,not a time,"5200 N 35TH ST,MKE",43.11,-87.95,4,TRBL W/SUBJ,Service in Progress',
    '9990002,2018-05-01 00:20:00,"5200 N 35TH ST,MKE",43.11,-87.95,4,,Service in Progress',
]


def test_replayed_rows_end_canonical_or_dead_lettered(shared_data, service_env, kafka_bootstrap,
                                                      topic_prefix, db_dsn, tmp_path):
    rows = 400
    sample = slice_csv(next((shared_data / "milwaukee").glob("*.csv.gz")), tmp_path / "mke.csv",
                       rows, extra_lines=MALFORMED)
    port = free_port()
    with running_worker(service_env, "--city", "milwaukee", "--metrics-port", str(port),
                        log=tmp_path / "worker.log") as worker:
        replay = run_divert(service_env, "replay", "--city", "milwaukee", "--input", str(sample), "--quiet")
        assert replay.returncode == 0, replay.stderr
        assert f"replayed {rows + 2:,} rows" in replay.stdout

        dead = asyncio.run(read_topic(kafka_bootstrap, topic_prefix + "deadletter", expect=2))
        events = asyncio.run(read_topic(kafka_bootstrap, topic_prefix + "cad.events", expect=rows))
        classified = asyncio.run(read_topic(kafka_bootstrap, topic_prefix + "calls.classified", expect=rows))
        stored = asyncio.run(wait_for_rows(db_dsn, "select count(*) from calls", rows))
        stored_dead = asyncio.run(wait_for_rows(db_dsn, "select count(*) from dead_letters", 2))
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
        deadline = time.monotonic() + 15
        while "divert_consumer_lag{" not in (exposition := urllib.request.urlopen(
                f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()) and time.monotonic() < deadline:
            time.sleep(0.5)  # the lag is sampled every few seconds

    metrics = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(exposition) for s in family.samples}
    raw_topic = topic_prefix + "cad.raw.milwaukee"
    assert metrics[("divert_records_in_total", (("topic", raw_topic),))] == rows + 2
    assert metrics[("divert_dead_letters_total", (("reason", "unparseable_time"), ("topic", raw_topic)))] == 1
    assert metrics[("divert_records_out_total", (("topic", "db.calls"),))] == rows
    assert metrics[("divert_sink_batch_seconds_count", (("table", "calls"),))] >= 1
    assert metrics[("divert_event_to_row_seconds_count", (("agency", "milwaukee"),))] == rows
    assert any(name == "divert_consumer_lag" for name, _ in metrics)

    letters = [decode_dead_letter(r.value) for r in dead]
    assert sorted((d.record_id, d.field) for d in letters) == [("9990001", "time"), ("9990002", "nature")]
    assert all(d.source_topic == topic_prefix + "cad.raw.milwaukee" and d.reason for d in letters)

    decoded = [decode_cad_event(r.value) for r in events]
    assert len(decoded) == rows and len({e.incident_id for e in decoded}) == rows
    assert all(r.key == f"milwaukee:{e.incident_id}".encode() for r, e in zip(events, decoded, strict=True))
    assert all(e.received_at.utcoffset().total_seconds() == 0 for e in decoded)

    assert (stored, stored_dead) == (rows, 2)
    calls = [decode_classified_call(r.value) for r in classified]
    assert {c.call.incident_id for c in calls} == {e.incident_id for e in decoded}
    assert all(c.policy_version and c.reasons for c in calls)


def test_a_record_from_kcat_comes_out_canonical(service_env, kafka_bootstrap, topic_prefix, tmp_path):
    """kcat, a Kafka client no one here wrote, produces one Seattle record by hand."""
    record = msgspec.json.encode({
        "CAD Event Number": "2023000319821", "Event Clearance Description": "UNABLE TO LOCATE INCIDENT OR COMPLAINANT",
        "Call Type": "911", "Priority": "2", "Initial Call Type": "BURN - RECKLESS BURNING",
        "Final Call Type": "--SUSPICIOUS CIRCUM. - SUSPICIOUS PERSON",
        "Original Time Queued": "11/04/2023 6:08:26 PM", "Arrived Time": "11/04/2023 6:51:06 PM",
        "Precinct": "EAST", "Sector": "CHARLIE", "Beat": "C3",
        "Blurred_Longitude": "-122.28112", "Blurred_Latitude": "47.6176603",
        "Caller Name": "Jane Doe", "Caller Phone": "206-555-0100"})
    with running_worker(service_env, "--city", "seattle", log=tmp_path / "worker.log"):
        subprocess.run(["kcat", "-P", "-b", kafka_bootstrap, "-t", topic_prefix + "cad.raw.seattle",
                        "-k", "seattle:2023000319821"], input=record + b"\n", check=True, timeout=30,
                       env=kcat_env(tmp_path / "kcat"))
        events = asyncio.run(read_topic(kafka_bootstrap, topic_prefix + "cad.events", expect=1))
    assert len(events) == 1
    event = decode_cad_event(events[0].value)
    assert (event.agency, event.incident_id, event.source) == ("seattle", "2023000319821", "911")
    assert event.received_at.isoformat() == "2023-11-05T01:08:26+00:00"  # 6:08 PM PDT (DST ends Nov 5)
    assert event.areas["beat"] == "C3" and event.priority == 2
    assert b"Jane" not in events[0].value and b"555" not in events[0].value
