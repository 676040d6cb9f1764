"""Learning from dispositions: the labels, the estimators on real dispositions, and no live
score anywhere (the prequential evaluation did not let it earn its place; issue 19)."""

from __future__ import annotations

import inspect

import pytest

from divert.classify import Classifier
from divert.crosswalk import load_crosswalk
from divert.dispositions import ShrunkTypeRate, load_disposition_labels
from divert.exceptions import ConfigError
from divert.paths import REPO_ROOT
from schemas.records import ClassifiedCall

from .conftest import events


def _learn(city: str) -> ShrunkTypeRate:
    cw, labels = load_crosswalk(city), load_disposition_labels(city)
    m = ShrunkTypeRate()
    for ev in events(city):
        y = labels.label(ev.disposition)
        if y is not None:
            m.learn(ev.initial_type, cw.lookup(ev.initial_type)[0], y)
    return m


def test_learns_which_ambiguous_types_end_without_police_action():
    m = _learn("milwaukee")
    assert m.overall.n > 10_000
    trouble, battery = m.score("TRBL W/SUBJ", "DISORD"), m.score("BATTERY", "ASSAULT")
    print(f"\nMilwaukee P(no police action): TRBL W/SUBJ {trouble:.2f}, BATTERY {battery:.2f}")
    assert trouble > battery


def test_seattle_labels_and_learning():
    labels = load_disposition_labels("seattle")
    assert labels.label("Assistance  rendered") is True
    assert labels.label("PHYSICAL ARREST MADE") is False
    assert labels.label("DUPLICATED OR CANCELLED BY RADIO") is None
    assert load_disposition_labels("san_antonio").empty
    m = _learn("seattle")
    assert m.overall.n > 3000
    assert 0 <= m.score("DISTURBANCE", "DISORD") <= 1


def test_no_live_score_anywhere():
    """Removed, not left null: no score on the record, no model in the classifier, no column."""
    assert "no_police_action_score" not in ClassifiedCall.__struct_fields__
    assert "outcome_model" not in inspect.signature(Classifier).parameters
    migrations = REPO_ROOT / "consumers" / "db" / "migrations"
    drop = (migrations / "011_drop_outcome_score.sql").read_text()
    assert "drop column if exists no_police_action_score" in drop
    schema = (REPO_ROOT / "schemas" / "json" / "classified_call.json").read_text()
    assert "no_police_action_score" not in schema


def test_disposition_file_errors(tmp_path):
    bad = tmp_path / "d.yaml"
    bad.write_text("x:\n  no_police_action: [A]\n  police_action: [a]\n")
    with pytest.raises(ConfigError, match="both lists"):
        load_disposition_labels("x", bad)
    bad.write_text("x:\n  police_action: A\n")
    with pytest.raises(ConfigError, match="'x.police_action'"):
        load_disposition_labels("x", bad)
    with pytest.raises(ConfigError, match="no such file"):
        load_disposition_labels("x", tmp_path / "missing.yaml")
