"""The sequential detector (CUSUM on 15-minute steps), declared events, alert text, ownership."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from divert.exceptions import ConfigError
from divert.spikes import (
    AlertSettings,
    ClosedWindow,
    SpikeDetector,
    SpikeMonitor,
    frame_windows,
    load_alert_settings,
    nb_llr,
    rebuild_from_counts,
)
from divert.spikes.events import Calendar
from schemas.records import Alert, CadEvent, ClassifiedCall

START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
STEP = timedelta(minutes=15)
DAY = 96  # windows of 15 minutes
CITY_CRISIS = ("city", "all", "crisis")
SETTINGS = AlertSettings(detector="cusum", window_minutes=15, min_history_windows=7 * DAY,
                         relearn_after_windows=96, cusum_shift=1.5, cusum_threshold=8)


def normal(i: int) -> int:
    """3 calls a quarter hour by day, 0.5 at night (seeded per window)."""
    return int(np.random.default_rng(i).poisson(3 if 8 <= (i // 4) % 24 < 20 else 0.5))


def window(i: int, crisis: int | None = None, agency: str = "sa") -> ClosedWindow:
    s = START + STEP * i
    n = normal(i) if crisis is None else crisis
    return ClosedWindow(agency, s, s + STEP, 20 + n, {CITY_CRISIS: n}, "p1")


_LEARNED: dict = {}


def learned(settings=SETTINGS, weeks: int = 2) -> SpikeDetector:
    if (settings, weeks) not in _LEARNED:
        d = SpikeDetector(settings, calendars={"sa": Calendar()})
        end = 7 * DAY * weeks + 40  # up to 10:00 on a Monday; quiet last windows: the test starts at zero
        assert d.update(window(i, 0 if i >= end - 2 else None) for i in range(end)) == []
        assert d._series[("sa", CITY_CRISIS)].cusum == 0
        _LEARNED[settings, weeks] = pickle.dumps(d)
    return pickle.loads(_LEARNED[settings, weeks])


T0 = 7 * DAY * 2 + 10 * 4  # 10:00 on a Monday after two weeks (learned up to it): 3 calls a quarter hour


def test_quiet_weeks_raise_nothing():
    d = SpikeDetector(SETTINGS, calendars={"sa": Calendar()})
    assert d.update(window(i) for i in range(7 * DAY * 4)) == []
    r = d.readings[("sa", CITY_CRISIS)]
    assert 0 < r.expected < r.upper_bound


def test_a_tripling_fires_within_three_quarter_hours_once_and_resolves():
    d = learned()
    alerts = []
    for j in range(8):                                   # two hours at three times normal
        alerts += [(j, a) for a in d.update([window(T0 + j, 9)])]
    fired = [(j, a) for j, a in alerts if a.state == "firing"]
    assert len(fired) == 1                               # one spike, one alert
    j, a = fired[0]
    assert j <= 2                                        # at most 45 minutes after the start
    assert a.window_start == START + STEP * T0           # the alert starts where the spike started
    assert a.detector == "cusum" and a.series == "sa/city/all/crisis"
    assert a.window_minutes == (j + 1) * 15
    assert a.observed == 9 * (j + 1) and a.expected_low is not None and a.expected_low <= a.expected
    assert a.message.startswith(f"+{round(a.observed - a.expected)} crisis-eligible calls in the last")
    assert "in the whole city" in a.message and "expected" in a.message
    resolved = [a for t in range(8, 16) for a in d.update([window(T0 + t, 3)])]
    assert [a.state for a in resolved] == ["resolved"]
    assert resolved[0].alert_id == a.alert_id and resolved[0].window_start == a.window_start
    assert "back to normal" in resolved[0].message


def test_noise_around_normal_does_not_alert_and_single_bursts_do_not_either():
    d = learned()
    assert d.update([window(T0, 8), window(T0 + 1, 2), window(T0 + 2, 3), window(T0 + 3, 1)]) == []


def test_fewer_extra_calls_than_min_excess_never_alert():
    s = AlertSettings(**{**SETTINGS.__dict__, "min_excess_calls": 80})
    d = learned(s)
    assert [a for j in range(8) for a in d.update([window(T0 + j, 9)])] == []


def test_the_spike_is_not_learned_but_a_false_start_is():
    d = learned()
    model = d._series[("sa", CITY_CRISIS)].model
    before = model.expected(10)
    d.update(window(T0 + j, 12) for j in range(8))
    assert model.expected(10) == pytest.approx(before, rel=0.02)
    # a run that returns to zero without an alert was normal after all: learned then
    d2 = learned()
    st = d2._series[("sa", CITY_CRISIS)]
    learned_before = st.model.windows
    d2.update([window(T0, 6)])
    assert st.pending and st.model.windows == learned_before
    d2.update([window(T0 + 1, 0), window(T0 + 2, 0), window(T0 + 3, 0)])
    assert not st.pending and st.model.windows == learned_before + 4


def test_pickled_and_rebuilt_cusum_continue_like_the_original():
    history = [window(i, 0 if i >= T0 - 2 else None) for i in range(T0)] + [window(T0 + j, 9) for j in range(6)]
    live = SpikeDetector(SETTINGS, calendars={"sa": Calendar()})
    live_alerts = live.update(history[:-3])
    copy = pickle.loads(pickle.dumps(live))
    assert live.update(history[-3:]) == copy.update(history[-3:])
    assert any(a.state == "firing" for a in live_alerts + live.update([]))
    rebuilt_alerts: list[Alert] = []
    rebuilt = rebuild_from_counts(history, SETTINGS, rebuilt_alerts)
    assert rebuilt.detector.readings == live.readings
    assert rebuilt.detector.firing == live.firing


def test_a_declared_event_labels_the_alert_and_is_not_learned():
    cal = Calendar.from_dict({"events": [{"name": "Fiesta", "dates": ["2024-01-15"], "hours": 24}]}, "UTC")
    d = learned()
    d._calendars["sa"] = cal
    model = d._series[("sa", CITY_CRISIS)].model
    n = model.windows
    alerts = [a for j in range(8) for a in d.update([window(T0 + j, 9)])]
    assert alerts and all(a.event == "Fiesta" for a in alerts)
    assert "during Fiesta" in alerts[0].message
    assert model.windows == n  # nothing inside the event was learned


def test_calendar_refuses_nonsense_and_reads_local_times():
    with pytest.raises(ConfigError, match="needs a name"):
        Calendar.from_dict({"events": [{"yearly": "07-04"}]}, "UTC")
    with pytest.raises(ConfigError, match="give dates or yearly"):
        Calendar.from_dict({"events": [{"name": "x"}]}, "UTC")
    with pytest.raises(ConfigError, match="x"):
        Calendar.from_dict({"events": [{"name": "x", "dates": ["2024-13-01"]}]}, "UTC")
    cal = load_alert_settings("san_antonio")  # the shipped calendar loads
    from divert.spikes.events import load_calendar
    sa = load_calendar("san_antonio", cal.timezone)
    assert sa.event_at(datetime(2025, 7, 5, 2, tzinfo=UTC)) == "Fourth of July fireworks"  # 21:00 CDT
    assert sa.event_at(datetime(2025, 7, 10, 2, tzinfo=UTC)) is None


def test_settings_choose_the_detector_block():
    s = load_alert_settings("san_antonio")
    assert (s.detector, s.window_minutes) == ("cusum", 15)
    assert s.threshold_for("substation") > s.threshold_for("city") == s.cusum_threshold
    assert s.shift_for("substation") > s.shift_for("city") == s.cusum_shift
    t = load_alert_settings("san_antonio", detector="threshold")
    assert (t.window_minutes, t.k, t.min_history_windows) == (60, 2, 336)
    with pytest.raises(ConfigError, match="detector"):
        AlertSettings(detector="magic")


def test_llr_is_zero_at_no_expectation_and_grows_with_the_count():
    y = np.array([0.0, 2.0, 8.0, 3.0])
    m0 = np.array([2.0, 2.0, 2.0, 0.0])
    out = nb_llr(y, m0, m0 * 2.5, np.array([0.1, 0.1, 0.1, 0.1]))
    assert out[0] < 0 < out[2] and out[1] < out[2] and out[3] == 0


# -- counting that moves between workers ----------------------------------------------------------
def call(i: int, t: datetime, crisis=True) -> ClassifiedCall:
    return ClassifiedCall(
        call=CadEvent(agency="sa", incident_id=str(i), source="911", initial_type="Welfare Check",
                      received_at=t, areas={"substation": "WEST"}),
        apco_code="WELFARE", crosswalk_confidence=1.0, route="crisis" if crisis else "police",
        eligible_initial=crisis, eligible=crisis, reasons=[], policy_version="p1")


def test_forget_and_adopt_move_one_agency_whole():
    calls = []
    for i in range(7 * DAY * 2 + 20):
        for j in range(normal(i) + 2):
            calls.append(call(len(calls), START + STEP * i + timedelta(seconds=j * 97 % 900), crisis=j >= 2))
    get = lambda _a: SETTINGS  # noqa: E731
    a = SpikeMonitor(get)
    a.observe(calls)
    b = SpikeMonitor(get)
    b.adopt(a, "sa")
    assert b.detector.readings == a.detector.readings and b.agencies == {"sa"}
    a.forget("sa")
    assert a.agencies == set() and not a.detector.readings
    frame = pd.DataFrame({"agency": "sa", "received_at": [c.call.received_at for c in calls],
                          "eligible": [c.eligible for c in calls], "route": [c.route for c in calls],
                          "areas": [c.call.areas for c in calls], "policy_version": "p1"})
    assert len(frame_windows(frame, SETTINGS, "sa")) == 7 * DAY * 2 + 20


def test_a_trickle_over_a_day_is_no_spike_but_would_be_without_the_run_limit():
    """One call an hour where almost none are expected: each adds a little evidence; only a CUSUM
    that keeps evidence for ever (max_run_minutes of a day) ends up calling it a spike."""
    def rare(i: int, n: int | None = None) -> ClosedWindow:
        s = START + STEP * i
        k = int(np.random.default_rng(i).poisson(0.05)) if n is None else n
        return ClosedWindow("sa", s, s + STEP, 20, {CITY_CRISIS: k}, "p1")

    base = dict(SETTINGS.__dict__, cusum_shift=4.0, cusum_threshold=12.0)
    out = {}
    for minutes in (240, 24 * 60):
        d = SpikeDetector(AlertSettings(**{**base, "max_run_minutes": minutes}), calendars={"sa": Calendar()})
        end = 7 * DAY * 2
        assert d.update(rare(i, 0 if i >= end - 8 else None) for i in range(end)) == []
        out[minutes] = d.update(rare(end + j, 1 if j % 4 == 0 else 0) for j in range(DAY))
    assert out[240] == []
    assert [a.state for a in out[24 * 60]][:1] == ["firing"]
