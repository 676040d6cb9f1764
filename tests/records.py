"""Small builders of canonical records for tests that need edge cases the real data lacks."""

from __future__ import annotations

import json
from datetime import datetime

from schemas import CadEvent, ClassifiedCall

_CALL_FIELDS = {"crosswalk_confidence", "route", "eligible_initial", "eligible", "reasons",
                "policy_version", "apco_code", "final_apco_code", "final_route"}


def classified_call(incident_id: str, received_at: datetime, **fields) -> ClassifiedCall:
    """A ClassifiedCall with test defaults; ``fields`` may name CadEvent or ClassifiedCall fields."""
    event = dict(agency="testville", incident_id=incident_id, source="911",
                 initial_type="WELFARE CHECK", received_at=received_at,
                 block_address="100 BLOCK MAIN ST", areas={"district": "D1", "beat": "B11"})
    call = dict(apco_code="WELFARE", crosswalk_confidence=1.0, route="crisis", eligible_initial=True,
                eligible=True, reasons=["crosswalk:welfare"], policy_version="test-1")
    for name, value in fields.items():
        if name == "areas" and isinstance(value, str):
            value = json.loads(value)
        (call if name in _CALL_FIELDS else event)[name] = value
    return ClassifiedCall(call=CadEvent(**event), **call)


def one_hour_of_calls(hour: datetime) -> list[ClassifiedCall]:
    """Five calls whose metrics for ``hour`` are known by hand: three community calls (two
    arrived after 300 s and 600 s, one on scene 30 min with 2 units, one disqualified), one
    officer-initiated, and one known only to the day (daily metrics only)."""
    from datetime import timedelta

    t = hour + timedelta(minutes=10)
    return [
        classified_call("c1", t, arrived_at=t + timedelta(seconds=300),
                        cleared_at=t + timedelta(seconds=300 + 1800), units=2),
        classified_call("c2", t + timedelta(minutes=5), arrived_at=t + timedelta(minutes=5, seconds=600)),
        classified_call("c3", t + timedelta(minutes=7), eligible=False, reasons=["weapon"]),
        classified_call("c4", t + timedelta(minutes=9), source="officer_initiated",
                        route="officer_initiated", eligible_initial=False, eligible=False),
        classified_call("c5", hour.replace(hour=0), time_precision="day"),
    ]
