"""The outcome model learns from real dispositions and never changes a route."""

from __future__ import annotations

import pickle

import msgspec
import pytest

from divert.classify import Classifier
from divert.crosswalk import load_crosswalk
from divert.exceptions import ConfigError
from divert.outcome_model import OutcomeModel, load_disposition_labels

from .conftest import events


@pytest.fixture(scope="module")
def milwaukee_model():
    cw = load_crosswalk("milwaukee")
    m = OutcomeModel(load_disposition_labels("milwaukee"))
    assert m.learn_many(events("milwaukee"), cw) > 10_000
    return m


def test_learns_which_ambiguous_types_end_without_police_action(milwaukee_model):
    m = milwaukee_model
    trouble = m.score("TRBL W/SUBJ", "DISORD")
    battery = m.score("BATTERY", "ASSAULT")
    print(f"\nMilwaukee P(no police action): TRBL W/SUBJ {trouble:.2f}, BATTERY {battery:.2f}, "
          f"NOISE NUISANCE {m.score('NOISE NUISANCE', 'NOISE'):.2f}")
    assert trouble > battery


def test_seattle_labels_and_learning():
    cw = load_crosswalk("seattle")
    labels = load_disposition_labels("seattle")
    assert labels.label("Assistance  rendered") is True
    assert labels.label("PHYSICAL ARREST MADE") is False
    assert labels.label("DUPLICATED OR CANCELLED BY RADIO") is None
    m = OutcomeModel(labels)
    assert m.learn_many(events("seattle"), cw) > 3000
    assert 0 <= m.score("DISTURBANCE", "DISORD") <= 1


def test_pickle_and_bytes_roundtrip(milwaukee_model):
    again = pickle.loads(pickle.dumps(milwaukee_model))
    assert again.score("TRBL W/SUBJ", "DISORD") == milwaukee_model.score("TRBL W/SUBJ", "DISORD")
    restored = OutcomeModel.from_bytes(milwaukee_model.to_bytes())
    assert restored.score("FIGHT", "FIGHT") == milwaukee_model.score("FIGHT", "FIGHT")
    with pytest.raises(ConfigError):
        OutcomeModel.from_bytes(pickle.dumps((99, restored)))


def test_never_overrides_a_disqualifier_or_route(milwaukee_model, policy):
    cw = load_crosswalk("milwaukee")
    sure = OutcomeModel(load_disposition_labels("milwaukee"))
    for _ in range(500):  # a model certain that these calls end without police action
        sure.learn_one("SUBJ WITH GUN", "WEAPON", "Advised")
        sure.learn_one("WELFARE CITIZEN", "WELFARE", "Advised")
    plain, scored = Classifier(cw, policy), Classifier(cw, policy, outcome_model=sure)
    evs = list(events("milwaukee")[:3000])
    evs.append(msgspec.structs.replace(evs[0], initial_type="SUBJ WITH GUN"))
    for a, b in zip(plain.classify_many(evs), scored.classify_many(evs), strict=True):
        assert (a.route, a.eligible, a.eligible_initial, a.reasons) == (
            b.route, b.eligible, b.eligible_initial, b.reasons)
    gun = scored.classify(evs[-1])
    assert gun.no_police_action_score > 0.95 and gun.route == "police" and not gun.eligible


def test_disposition_file_errors(tmp_path):
    bad = tmp_path / "d.yaml"
    bad.write_text("x:\n  no_police_action: [A]\n  police_action: [a]\n")
    with pytest.raises(ConfigError, match="both lists"):
        load_disposition_labels("x", bad)
    bad.write_text("x:\n  police_action: A\n")
    with pytest.raises(ConfigError, match="'x.police_action'"):
        load_disposition_labels("x", bad)
