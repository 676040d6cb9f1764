"""Small builders of canonical records for tests that need edge cases the real data lacks."""

from __future__ import annotations

import json
from datetime import datetime

from schemas import CadEvent, ClassifiedCall

_CALL_FIELDS = {"crosswalk_confidence", "route", "eligible_initial", "eligible", "reasons",
                "policy_version", "apco_code", "final_apco_code", "final_route",
                "no_police_action_score"}


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
