"""The guard on words cut short, abbreviated or written as codes, and what it leaves alone."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from divert.crosswalk import GUARD_KEYWORDS, NOT_TRUNCATED, violent_match


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


@settings(max_examples=300, deadline=None)
@given(word=st.sampled_from(_cuttable), keep=st.integers(min_value=4, max_value=12),
       before=st.sampled_from(["", "MENTAL ", "WELFARE CHECK ", "PERSON ", "415 "]))
def test_any_guard_word_cut_at_the_end_is_still_guarded(word, keep, before):
    cut = word[:keep]
    if any(w.startswith(cut) for w in NOT_TRUNCATED) and cut != word:
        return  # a cut that is also the start of an ordinary word is not read as the guard word
    assert violent_match(before + cut), before + cut
