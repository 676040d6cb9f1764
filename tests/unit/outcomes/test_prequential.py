"""The prequential evaluation of learning from dispositions: every period is scored before it
is learned from, on synthetic calls with known answers and on the real cities' dispositions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from divert.cli import cli
from divert.crosswalk import load_crosswalk
from divert.dispositions import (
    BASELINE,
    CANDIDATE,
    DispositionLabels,
    OverallRate,
    ShrunkTypeRate,
    TypeRate,
    auc,
    average_ranks,
    brier,
    calibration_gap,
    prequential,
    reliability,
)
from divert.exceptions import ConfigError
from schemas.records import CadEvent
from tests.helpers import slice_csv

LABELS = DispositionLabels("testville", frozenset({"ADVISED"}), frozenset({"ARREST"}))


class _NoCrosswalk:
    def lookup(self, call_type):
        return None, 0.0


def _call(i: int, month: int, call_type: str, disposition: str | None, source: str = "911") -> CadEvent:
    return CadEvent(agency="testville", incident_id=str(i), source=source, initial_type=call_type,
                    received_at=datetime(2024, month, 1 + i % 27, 12, tzinfo=UTC), disposition=disposition)


def test_each_period_is_scored_before_it_is_learned_from():
    # January: NOISE always advised. February: NOISE always ends in an arrest. March: half/half.
    calls = ([_call(i, 1, "NOISE", "Advised") for i in range(10)]
             + [_call(100 + i, 2, "NOISE", "Arrest") for i in range(10)]
             + [_call(200 + i, 3, "NOISE", "Advised" if i % 2 else "Arrest") for i in range(4)])
    r = prequential(calls, _NoCrosswalk(), LABELS)
    assert r.periods == ["2024-01", "2024-02", "2024-03"]
    assert r.labelled == 24 and len(r.y) == 14          # January is only learned from
    rate = r.scores[BASELINE].p
    # February's calls are scored with January alone: its own arrests never reach its scores
    assert rate[:10] == [1.0] * 10
    # March with January and February, none of March
    assert rate[10:] == [0.5] * 4
    assert r.y[:10] == [False] * 10


def test_unlabelled_unseen_and_single_period():
    calls = [_call(1, 1, "NOISE", "Advised"), _call(2, 1, "NOISE", "Completed"),
             _call(3, 2, "NEW TYPE", "Arrest"), _call(4, 2, "NOISE", None)]
    r = prequential(calls, _NoCrosswalk(), LABELS)
    assert (r.labelled, r.unlabelled) == (2, 2)
    assert r.scores[BASELINE].unseen == 1 and r.scores[BASELINE].p == [1.0]   # the overall rate
    assert r.scores[OverallRate.name].unseen == 0
    one = prequential(calls[:2], _NoCrosswalk(), LABELS)
    assert one.y == [] and one.verdict()[0] is False
    with pytest.raises(ConfigError):
        prequential(calls, _NoCrosswalk(), LABELS, period="year")


def test_candidates_learn_and_shrink():
    t, s = TypeRate(), ShrunkTypeRate(prior_weight=10)
    for m in (t, s):
        for y in (True, True, False):
            m.learn("RARE", "DISORD", y)
        for _ in range(40):
            m.learn("COMMON", "NOISE", True)
    assert t.score("RARE", "DISORD") == pytest.approx(2 / 3)
    # the rare type is pulled towards its code's rate, the code's towards the overall rate
    overall = 42 / 43
    assert s.score("RARE", "DISORD") == pytest.approx((2 + (2 + overall * 10) / 13 * 10) / 13)
    assert s.score("UNSEEN", "DISORD") is not None and t.score("UNSEEN", "DISORD") is None


def test_metrics():
    assert auc([True, True, False, False], [0.9, 0.8, 0.2, 0.1]) == 1.0
    assert auc([True, True], [0.9, 0.8]) is None
    assert brier([True, False], [1.0, 0.5]) == pytest.approx(0.125)
    table = reliability([True] * 50 + [False] * 50, [0.9] * 50 + [0.1] * 50, bins=2)
    assert [(b.calls, b.predicted, b.observed) for b in table] == [(50, pytest.approx(0.1), 0.0),
                                                                    (50, pytest.approx(0.9), 1.0)]
    assert calibration_gap(table) == pytest.approx(0.1)
    assert calibration_gap(table, min_calls=51) is None


class _ByPrefix:
    def lookup(self, call_type):
        return ("WELFARE" if call_type.startswith("W") else "ASSAULT"), 1.0


def test_verdict_needs_clearly_better_than_the_type_rate():
    # five common types ending without police action 20%, 40% … 100% of the time, every month
    calls = [_call(m * 1000 + i, m, f"TYPE {i % 5}", "Advised" if (i // 5) % 5 <= i % 5 else "Arrest")
             for m in range(1, 7) for i in range(300)]
    ok, why = prequential(calls, _ByPrefix(), LABELS).verdict()
    assert not ok and "AUC +0.000" in why
    # types never seen twice, whose APCO code carries the answer: only the shrunk rate knows
    calls = [_call(m * 1000 + i, m, f"{'W' if i % 2 else 'A'} {m} {i}", "Advised" if i % 2 else "Arrest")
             for m in range(1, 7) for i in range(300)]
    ok, why = prequential(calls, _ByPrefix(), LABELS).verdict()
    assert ok, why


@pytest.mark.parametrize(("city", "period"), [("milwaukee", "day"), ("seattle", "month")])
def test_on_real_dispositions_the_shrunk_rate_does_not_earn_its_place(city, period):
    """The figures the removal of the live score rests on (issue 19). If this fails, the
    candidate has become clearly better: reconsider wiring it (see divert/dispositions.py)."""
    from divert.dispositions import load_disposition_labels
    from tests.unit.classify.conftest import events

    # the classification tests' reading of the city (once per session, shared by the workers) in
    # event-time order: for these cities exactly the list `divert outcomes evaluate` reads
    # (`city_events`, which the CLI test below runs)
    calls = sorted(events(city), key=lambda e: e.received_at)
    r = prequential(calls, load_crosswalk(city), load_disposition_labels(city), period=period)
    rows = {x["candidate"]: x for x in r.rows(community_only=True)}
    assert rows[BASELINE]["auc"] > 0.75                      # the type alone tells a lot …
    assert rows[CANDIDATE]["auc"] - rows[BASELINE]["auc"] < 0.02   # … the shrinkage adds little
    assert rows[OverallRate.name]["auc"] == pytest.approx(0.5, abs=0.05)
    assert r.verdict()[0] is False


def test_cli_prints_the_table_and_refuses_a_city_without_dispositions(shared_data, tmp_path):
    runner = CliRunner()
    out = runner.invoke(cli, ["outcomes", "evaluate", "--city", "milwaukee", "--period", "week"])
    assert out.exit_code == 0, out.output
    assert "2018-W18 … 2018-W21" in out.output and "shrunk type rate" in out.output
    assert "reliability by decile" in out.output and "does NOT earn" in out.output
    # the city's three weeks are one month: read from one file of it, --input (a slice is enough)
    one_file = slice_csv(shared_data / "milwaukee/mpd_calls_for_service_2018-05-01_to_2018-05-21.csv.gz",
                         tmp_path / "mke.csv", 3000)
    month = runner.invoke(cli, ["outcomes", "evaluate", "--city", "milwaukee", "--input", str(one_file)])
    assert month.exit_code == 0, month.output
    assert "nothing scored: only one month" in month.output
    sa = runner.invoke(cli, ["outcomes", "evaluate", "--city", "san_antonio"])
    assert sa.exit_code != 0 and "records no disposition" in str(sa.exception)


def test_average_ranks_are_scipys_rankdata():
    """auc ranks without scipy.stats: the same ranks, ties included (scores repeat a lot)."""
    import numpy as np
    from scipy.stats import rankdata

    rng = np.random.default_rng(7)
    for size in (1, 2, 17, 1000):
        for values in (rng.integers(0, 5, size) / 4, rng.random(size), np.full(size, 0.5)):
            np.testing.assert_array_equal(average_ranks(values), rankdata(values))
    with_nan = np.array([0.2, np.nan, 0.2, 0.1])
    np.testing.assert_array_equal(average_ranks(with_nan), rankdata(with_nan))
