"""The families a call type is scored by: behavioural health, police only, complaint / assist.

A labelled vocabulary comes either with APCO codes (divert's city crosswalks) or with the
categories of a published analysis (Vera's, ``reference/crosswalks/published``); both are read
into one of these families so that the evaluation and the suggester's safety rule agree.

>>> code_family("EDP"), code_family("DVA"), code_family("NOISE"), code_family("BURGLARY")
('behavioural_health', 'police_only', 'complaint_assist', 'other')
>>> vera_family("Behavioral Health"), vera_family("Sex Offenses "), vera_family("Traffic")
('behavioural_health', 'police_only', 'other')
"""

from __future__ import annotations

from divert.policy import VIOLENT_CODES

BEHAVIOURAL_HEALTH = "behavioural_health"
POLICE_ONLY = "police_only"
COMPLAINT_ASSIST = "complaint_assist"
OTHER = "other"
FAMILIES = (BEHAVIOURAL_HEALTH, POLICE_ONLY, COMPLAINT_ASSIST, OTHER)

# Mental-health crisis, suicide, overdose: what a crisis team or co-responders exist for.
BH_CODES = frozenset({"EDP", "SUICTHRT", "SUICIDE", "OD"})
# Violent offences, weapons, domestic violence, sex offences, child abuse: police only.
POLICE_ONLY_CODES = VIOLENT_CODES | frozenset({"ABUSE", "SEXOFFNS", "INDECENT"})
# Complaints, environmental conditions and assistance to the public.
COMPLAINT_ASSIST_CODES = frozenset({
    "NOISE", "PARKING", "VEHABND", "CIVIL", "CITASST", "PUBWKS", "FIREWRKS", "ANIMAL", "SMOKING",
    "DISVEH", "VEHASST", "VEHLOCK", "TOW", "THAZ", "WIRES", "OPEN", "PROPFND", "PROPLOST",
    "WELFARE", "PHANDLE", "ODOR", "TRUANT"})

_VERA = {
    "behavioral health": BEHAVIOURAL_HEALTH,
    "violent crime": POLICE_ONLY, "domestic violence": POLICE_ONLY, "sex offenses": POLICE_ONLY,
    "officer needs help": POLICE_ONLY,
    "complaints/environmental conditions": COMPLAINT_ASSIST, "assist the public": COMPLAINT_ASSIST,
    "assisting the public": COMPLAINT_ASSIST,
}


def code_family(code: str | None) -> str:
    if code in BH_CODES:
        return BEHAVIOURAL_HEALTH
    if code in POLICE_ONLY_CODES:
        return POLICE_ONLY
    if code in COMPLAINT_ASSIST_CODES:
        return COMPLAINT_ASSIST
    return OTHER


def vera_family(category: str | None) -> str:
    if not isinstance(category, str):
        return OTHER
    return _VERA.get(category.strip().lower(), OTHER)
