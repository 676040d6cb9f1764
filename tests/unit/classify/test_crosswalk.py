"""Crosswalk coverage on the real call volume, the Vera agreement, and the guard."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from divert.cli.crosswalk import coverage, type_volumes
from divert.crosswalk import (
    GUARD_KEYWORDS,
    Suggester,
    load_apco_codes,
    load_crosswalk,
    normalize_type,
    violent_match,
)
from divert.exceptions import ConfigError
from divert.policy import load_policy
from tests.examples import examples

CITIES = ["san_antonio", "milwaukee", "seattle"]


@pytest.mark.parametrize("city", CITIES)
def test_coverage_of_call_volume(city):
    volumes = type_volumes(city)  # the full columns
    share, unmapped = coverage(volumes, load_crosswalk(city))
    assert share >= 0.99, unmapped.head(10)


def test_codes_exist_and_confidences_in_range():
    codes = load_apco_codes()
    for city in CITIES:
        for e in load_crosswalk(city).entries.values():
            assert e.apco_code in codes and 0 <= e.confidence <= 1


def _vera_shares(vera, policy):
    cw = load_crosswalk("seattle")
    clf_routes = {}
    from divert.classify import Classifier
    clf = Classifier(cw, policy)
    for t in vera.call_type.unique():
        clf_routes[t] = clf.decide(t).route
    v = vera.assign(route=vera.call_type.map(clf_routes))
    return v.groupby(["vera_category", "route"]).calls.sum().unstack(fill_value=0)


def test_vera_behavioral_health_goes_to_crisis_or_co_response(vera, policy):
    table = _vera_shares(vera, policy)
    bh = table.loc["Behavioral Health"]
    share = (bh.get("crisis", 0) + bh.get("co_response", 0)) / bh.sum()
    print(f"Vera Behavioral Health volume routed crisis or co_response: {share:.1%}")
    # the rest is overdoses, which go to EMS (APCO OD)
    assert share >= 0.8


@pytest.mark.parametrize("category", ["Violent Crime", "Domestic Violence", "Sex Offenses",
                                      "Officer Needs Help"])
def test_vera_police_categories_never_civilian(vera, policy, category):
    row = _vera_shares(vera, policy).loc[category]
    assert row.get("crisis", 0) + row.get("navigator", 0) == 0


def test_every_violent_looking_real_type_is_guarded():
    # every type in the three crosswalks (and so in the real data) whose name reads violent
    words = ["GUN", "KNIFE", "WEAPON", "WPN", "ASSAULT", "ASLT", "BATTERY", "FIGHT", "ROBB",
             "SHOOT", "SHOT", "STAB", "CUTTING", "DV", "DOMESTIC", "FAMILY", "IN PROGRESS",
             "IP/JO", "RAPE", "HOMICIDE", "KIDNAP", "HOSTAGE", "THREAT"]
    seen = 0
    for city in CITIES:
        for t in load_crosswalk(city).entries:
            if any(re.search(r"(?<![A-Z])" + re.escape(w), t) for w in words):
                seen += 1
                assert violent_match(t), t
    assert seen > 100


def test_guard_leaves_ordinary_types_alone():
    for t in ["Disturbance Loud Music", "WELFARE CITIZEN", "PARKING TROUBLE", "Property Found",
              "BURGLARY - RESIDENTIAL, UNOCCUPIED", "Drunk", "NOISE - GENERAL", "Panhandler"]:
        assert violent_match(t) is None, t


@pytest.fixture(scope="module")
def suggester():
    policy = load_policy()
    return Suggester([load_crosswalk(c) for c in CITIES], load_apco_codes(), policy.route_for)


_filler = st.text(alphabet="ABCDEFGHIJKLMNOPRSTUVWXYZ -/", max_size=25)
_word = st.sampled_from([k.rstrip("*") for k in GUARD_KEYWORDS])


@settings(max_examples=examples(300), deadline=None)
@given(before=_filler, word=_word, after=_filler, civil=st.sampled_from(
    ["WELFARE CHECK", "NOISE", "PARKING", "PROPERTY FOUND", "MENTAL PERSON", "PANHANDLER"]))
def test_suggest_never_civilian_for_violent_text(suggester, before, word, after, civil):
    text = f"{before} {civil} {word} {after}"
    assert violent_match(text)
    assert suggester.suggest_one(text).route not in ("crisis", "navigator")


@pytest.mark.parametrize("city", CITIES)
def test_suggest_never_civilian_for_real_violent_types(suggester, city):
    for t in load_crosswalk(city).entries:
        if violent_match(t):
            assert suggester.suggest_one(t).route not in ("crisis", "navigator"), t


def test_suggest_leave_one_city_out_agreement():
    """Milwaukee's types suggested from the other cities and the APCO descriptions."""
    policy = load_policy()
    s = Suggester([load_crosswalk("san_antonio"), load_crosswalk("seattle")], load_apco_codes(),
                  policy.route_for)
    mke = load_crosswalk("milwaukee")
    hits = [s.suggest_one(e.call_type).route == policy.route_for(e.apco_code)
            or violent_match(e.call_type) for e in mke.entries.values()]
    share = sum(bool(h) for h in hits) / len(hits)
    print(f"leave-Milwaukee-out route agreement: {share:.0%}")
    assert share >= 0.5


def test_crosswalk_errors_name_the_column(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("call_type,apco_code,confidence,note\nFOO,NOTACODE,0.5,\n")
    with pytest.raises(ConfigError, match="apco_code"):
        load_crosswalk("x", bad)
    bad.write_text("call_type,apco_code,confidence,note\nFOO,NOISE,1.5,\n")
    with pytest.raises(ConfigError, match="confidence"):
        load_crosswalk("x", bad)
    with pytest.raises(ConfigError, match="no crosswalk"):
        load_crosswalk("atlantis")


def test_normalization_is_case_and_space_insensitive():
    cw = load_crosswalk("milwaukee")
    assert cw.lookup(" trbl  w/subj ") == cw.lookup("TRBL W/SUBJ") != (None, 0.0)
    assert normalize_type("a\tb") == "A B"
