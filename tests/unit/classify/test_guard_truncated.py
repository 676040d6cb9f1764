"""The guard on words cut short, abbreviated or written as codes, and what it leaves alone."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from divert.crosswalk import GUARD_KEYWORDS, NOT_TRUNCATED, guard_vocabulary, violent_match
from divert.exceptions import ConfigError
from tests.examples import examples


@pytest.mark.parametrize("text", [
    "ABAND/PROP WEAPO", "SEX ASSA", "DOMES", "DOMESTIC VIOL", "SUBJ W/WPN", "MAN W/GUN",
    "AGG ASLT", "AGGRAVATED BURGLARY", "BURG 1ST DEGREE", "FELONY WARRANT", "CHILD ABU",
    "CHILD NEGLECT", "245 PC", "273.5 DV", "211 IN PROG", "10-32", "CSC 3RD DEG", "LEWD CONDUCT",
    "INDECENT EXPOSURE", "STRANGULATION", "121D_Mental Disorder Violnt Wp", "KIDNA",
    "Officer Assist Urgent", "HOME INVASION", "SHTS FIRED",
])
def test_guard_reads_cut_and_abbreviated_words(text):
    assert violent_match(text), text


@pytest.mark.parametrize("text", [
    "MENTAL HEA", "DISTURBANC", "WELFARE CH", "TRAFFIC VIOL", "ORDER VIOL", "FIRE", "OD", "DOA",
    "EDP", "MVA", "SUSP VEH", "BURGLARY - RESIDENTIAL, UNOCCUPIED", "NOISE - GENERAL",
    "Panhandler", "PERSON DOWN", "OCCUR", "FIREWORKS", "PARKING VIOL",
])
def test_guard_leaves_ordinary_cut_words_alone(text):
    assert violent_match(text) is None, text


_cuttable = sorted({k.rstrip("*") for k in GUARD_KEYWORDS
                    if k.rstrip("*").isalpha() and len(k.rstrip("*")) >= 5})


@settings(max_examples=examples(300), deadline=None)
@given(word=st.sampled_from(_cuttable), keep=st.integers(min_value=4, max_value=12),
       before=st.sampled_from(["", "MENTAL ", "WELFARE CHECK ", "PERSON ", "415 "]))
def test_any_guard_word_cut_at_the_end_is_still_guarded(word, keep, before):
    cut = word[:keep]
    if any(w.startswith(cut) for w in NOT_TRUNCATED) and cut != word:
        return  # a cut that is also the start of an ordinary word is not read as the guard word
    assert violent_match(before + cut), before + cut


@pytest.mark.parametrize("text", [
    # protection-order abbreviations and offence names the live guard reads from guard.yaml,
    # the same vocabulary the crosswalk suggester uses
    "PFA VIOLATION", "TRO VIOL", "OFP VIOLATION", "EPO SERVICE", "VPO", "NCO VIOLATION",
    "PROTECTIVE ORDER VIOL", "MENACING", "INTIMIDATION OF WITNESS", "UNLAWFUL RESTRAINT",
    "VOYEURISM", "VICE - PROSTITUTION", "CHILD - LURING", "SUSPICIOUS PACKAGE", "INJURY TO A CHILD",
    "HATE CRIME", "MUGGING",
])
def test_live_guard_reads_offence_names_and_protection_orders(text):
    assert violent_match(text), text


def test_the_guard_is_one_vocabulary_with_sources():
    vocab = guard_vocabulary()
    assert tuple(GUARD_KEYWORDS) == vocab.keywords and NOT_TRUNCATED == vocab.not_truncated
    assert all(vocab.sources[w] for w in vocab.keywords)
    assert {"TRO", "PFA", "MENAC*", "PROSTITUT*"} <= set(vocab.keywords)


def test_a_broken_guard_file_stops_divert(tmp_path):
    path = tmp_path / "guard.yaml"
    path.write_text("groups:\n  weapons:\n    source: x\n    words: [GUN*]\n")
    with pytest.raises(ConfigError, match="violence"):
        guard_vocabulary(path)
    with pytest.raises(ConfigError):
        guard_vocabulary(tmp_path / "missing.yaml")
