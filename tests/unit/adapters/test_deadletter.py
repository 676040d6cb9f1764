from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import msgspec

from divert.adapters import load_adapter
from divert.deadletter import dead_letter
from divert.exceptions import InvalidRecord
from schemas.records import DeadLetter, decode_dead_letter, encode

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_dead_letter_round_trip_and_redaction():
    adapter = load_adapter("san_antonio")
    raw = {"IncidentNumber": "SAPD-1", "ProblemType": "Theft", "ResponseDate": "yesterday",
           "Caller Name": "Ann Example", "caller_phone": "210-555-0100", "CALLBACK NUMBER": "1"}
    payload = json.dumps(raw).encode()
    try:
        adapter.normalize(raw)
    except InvalidRecord as err:
        error = err
    dl = dead_letter(payload, source_topic="cad.raw.san_antonio", error=error, agency=adapter.agency,
                     partition=3, offset=42, now=NOW, rule=adapter.privacy)
    assert isinstance(dl, DeadLetter)
    assert decode_dead_letter(encode(dl)) == dl
    assert msgspec.json.decode(encode(dl))["field"] == "ResponseDate"
    assert (dl.record_id, dl.reason, dl.partition, dl.offset) == ("SAPD-1", "unparseable_time", 3, 42)
    kept = json.loads(dl.payload)
    assert kept.pop("_sha256") == hashlib.sha256(payload).hexdigest()  # tells records apart
    assert kept == {"IncidentNumber": "SAPD-1", "ProblemType": "Theft", "ResponseDate": "yesterday"}
    assert "Ann" not in dl.payload and "555" not in dl.payload


def test_dead_letter_of_non_json_payload():
    err = InvalidRecord("not_an_object", detail="expected an object")
    dl = dead_letter(b"\xff\xfenot json", source_topic="cad.raw.milwaukee", error=err, agency=None)
    assert decode_dead_letter(encode(dl)) == dl
    assert dl.failed_at.tzinfo is not None and dl.field is None
    assert dl.detail == "expected an object"
    kept = json.loads(dl.payload)
    assert kept["bytes"] == 10 and kept["preview"] == "\ufffd\ufffdxxx xxxx" and len(kept["sha256"]) == 64
    dl2 = dead_letter("[1, 2]", source_topic="cad.raw.milwaukee", error=err, agency="milwaukee")
    assert json.loads(dl2.payload)["preview"] == "[9, 9]"
