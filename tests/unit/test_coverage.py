"""What a figure's data covers (divert.coverage): partial extracts, sampled days, thin volume."""

from __future__ import annotations

from datetime import UTC, datetime

from divert.coverage import Coverage, Source, withheld_alternative

T0, T1 = datetime(2022, 11, 1, tzinfo=UTC), datetime(2026, 8, 31, tzinfo=UTC)


def test_a_city_wide_sample_of_days_supports_city_shares_and_says_it_is_sampled():
    calls = Source("calls", frozenset({"CENTRAL", "EAST", "NORTH"}), T0, T1, days=180, records=717_153)
    c = Coverage("san_antonio", "substation", calls)
    assert c.supports_city_shares and c.share_word() == "of the city's"
    (note,) = c.notes()
    assert note.startswith("SAMPLED: calls on 180 of the 1,400 days") and "25.7 weeks with data" in note
    assert withheld_alternative(c, 17_153 / 25.7) is None


def test_one_sector_against_city_wide_crime_withholds_city_claims():
    calls = Source("calls", frozenset({"C1", "C2", "C3"}), T0, T1, days=1400, records=4612)
    crime = Source("crime reports", frozenset({"C1", "C2", "C3", "B1", "B2"}), T0, T1, days=12, records=9)
    c = Coverage("seattle", "beat", calls, crime, budget="seattle FY2020 budget")
    assert c.partial_calls and not c.supports_city_shares
    assert c.notes()[0] == ("COVERAGE: calls cover 3 of 5 beats (C1, C2, C3); crime reports cover 5; "
                            "the budget is city-wide.")
    assert "a team serves the city" in withheld_alternative(c, 500.0)


def test_calls_with_no_layer_are_never_partial():
    calls = Source("calls", frozenset(), T0, T1, days=1400, records=10)
    assert not Coverage("x", None, calls).partial_calls
