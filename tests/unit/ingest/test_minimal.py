"""What `divert replay` produces: a city's raw record reduced to what its adapter reads."""

from __future__ import annotations

import itertools

import pytest

from divert.adapters import load_adapter
from divert.exceptions import InvalidRecord
from tests.hostile import leaked


def _outcome(adapter, raw):
    try:
        return adapter.normalize(raw)
    except InvalidRecord as err:
        return (err.reason, err.field)


@pytest.mark.parametrize("city", ["san_antonio", "milwaukee", "seattle"])
def test_a_minimal_record_normalizes_exactly_as_the_full_one(city, shared_data):
    """On the first 1,000 real rows of every history file: same event, same areas, same dead letter."""
    adapter = load_adapter(city)
    read = adapter.privacy.kept
    for path in adapter.history_files():
        for raw in itertools.islice(adapter.read_raw(path), 1000):
            small = adapter.minimal(raw)
            assert set(small) <= read
            assert _outcome(adapter, small) == _outcome(adapter, raw)


def test_private_columns_addresses_and_precise_points_never_leave():
    adapter = load_adapter("milwaukee")
    raw = {"id": "1", "time": "2018-05-01 00:10:28", "location": "5237 N 35TH ST,MKE", "latitude": "43.1127987",
           "longitude": "-87.9567414", "nature": "TRBL W/SUBJ", "Caller Name": "Zebulon Quirkfeather",
           "caller_phone": "414-555-0199", "notes": "anything at all"}
    small = adapter.minimal(raw)
    assert small["location"] == "5200 BLOCK N 35TH ST" and small["latitude"] == "43.113"
    assert "notes" not in small and leaked(str(small)) == []
