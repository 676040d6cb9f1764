"""The spike detector's core: k windows, hysteresis, event-time windows, gaps, restart."""

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
    rebuild_from_counts,
)
from schemas.records import CadEvent, ClassifiedCall

START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
HOUR = timedelta(hours=1)
CITY_CRISIS = ("city", "all", "crisis")
SETTINGS = AlertSettings(k=2, min_history_windows=168, window_minutes=60)


def normal(i: int) -> int:
    """A daily cycle with Poisson noise: 2 calls at night, 12 by day (seeded per window)."""
    rng = np.random.default_rng(i)
    return int(rng.poisson(12 if 8 <= i % 24 < 20 else 2))


def window(i: int, crisis: int | None = None, agency: str = "sa") -> ClosedWindow:
    s = START + HOUR * i
    n = normal(i) if crisis is None else crisis
    return ClosedWindow(agency, s, s + HOUR, 50 + n, {CITY_CRISIS: n}, "p1")


_LEARNED: dict = {}


def learned(weeks: int = 3, settings=SETTINGS) -> SpikeDetector:
    """A detector that has seen `weeks` of normal windows (built once per settings, then copied)."""
    if (weeks, settings) not in _LEARNED:
        d = SpikeDetector(settings)
        assert d.update(window(i) for i in range(168 * weeks)) == []
        _LEARNED[weeks, settings] = pickle.dumps(d)
    return pickle.loads(_LEARNED[weeks, settings])


def test_quiet_history_raises_nothing():
    d = SpikeDetector(SETTINGS)
    alerts = d.update(window(i) for i in range(168 * 6))
    assert alerts == []
    reading = d.readings[("sa", CITY_CRISIS)]
    assert 0 < reading.expected < reading.upper_bound


def test_one_spike_is_one_alert_after_k_windows_and_resolves_when_volume_returns():
    d = learned()
    t0 = 168 * 3 + 10  # 10:00 on a Monday: 12 expected
    assert d.update([window(t0, 40)]) == []                     # 1 window: pending
    (fired,) = d.update([window(t0 + 1, 45)])                  # k = 2: fires
    assert fired.state == "firing" and fired.route == "crisis" and fired.area_layer == "city"
    assert fired.window_start == START + HOUR * t0              # the spike's first window
    assert fired.observed == 45 and fired.expected < 20 and fired.upper_bound < 45 and fired.score > 3
    assert d.update(window(t0 + j, 50) for j in range(2, 6)) == []   # still high: no new alert
    (resolved,) = d.update([window(t0 + 6, 12)])
    assert (resolved.state, resolved.alert_id, resolved.window_start) == ("resolved", fired.alert_id,
                                                                           fired.window_start)
    assert resolved.window_end == START + HOUR * (t0 + 7)


def test_a_single_high_window_is_not_an_alert():
    d = learned()
    t0 = 168 * 3 + 10
    assert d.update([window(t0, 60), window(t0 + 1, 12), window(t0 + 2, 60), window(t0 + 3, 11)]) == []


def test_too_few_extra_calls_never_alert():
    # at night 2 calls are expected; 6 is far above a Poisson bound but only 4 calls over
    d = learned(settings=AlertSettings(k=2, min_history_windows=168, min_excess_calls=5))
    t0 = 168 * 3 + 2
    assert d.update([window(t0, 6), window(t0 + 1, 6)]) == []


def test_the_spike_is_not_learned():
    d = learned()
    t0 = 168 * 3 + 10
    before = d._series[("sa", CITY_CRISIS)].model.expected(10)
    d.update(window(t0 + j, 60) for j in range(8))
    after = d._series[("sa", CITY_CRISIS)].model.expected(10)
    assert after == pytest.approx(before, rel=0.02)


def test_a_lasting_shift_becomes_normal_and_resolves():
    d = learned(settings=AlertSettings(k=2, min_history_windows=168, relearn_after_windows=24))
    t0 = 168 * 3
    alerts = d.update(window(t0 + j, normal(t0 + j) * 3 + 10) for j in range(168 * 2))
    states = [a.state for a in alerts]
    assert states[:2] == ["firing", "resolved"]
    assert len(states) <= 6


def test_gaps_are_not_quiet_windows():
    """History sampled on a few days a month: nothing is learned between the sampled days."""
    d = learned()
    before = d._series[("sa", CITY_CRISIS)].model.windows
    # 3 weeks without any call: windows with no call are never emitted, and one emitted with
    # calls=0 is ignored too
    s = START + HOUR * (168 * 4)
    assert d.update([ClosedWindow("sa", s, s + HOUR, 0, {}, "p1")]) == []
    assert d._series[("sa", CITY_CRISIS)].model.windows == before
    # after the gap, a streak does not join windows across it
    t = 168 * 6 + 10
    assert d.update([window(168 * 3 + 10, 40)]) == []
    assert d.update([window(t, 40)]) == []
    assert [a.state for a in d.update([window(t + 1, 40)])] == ["firing"]


def test_replayed_windows_are_ignored():
    d = learned()
    t0 = 168 * 3 + 10
    d.update([window(t0, 40)])
    assert d.update([window(t0, 40)]) == []  # the same window again: not a second window over
    assert d.update([window(t0 + 1, 40)])[0].state == "firing"


def test_series_are_independent_per_agency_and_area():
    d = SpikeDetector(SETTINGS)
    for i in range(168 * 3):
        d.update([window(i, agency="a"), window(i, agency="b")])
    t0 = 168 * 3 + 10
    alerts = d.update([window(t0, 40, "a"), window(t0, 12, "b"), window(t0 + 1, 40, "a"), window(t0 + 1, 12, "b")])
    assert [(a.agency, a.state) for a in alerts] == [("a", "firing")]


def test_settings_load_and_refuse_nonsense(tmp_path):
    s = load_alert_settings("san_antonio")
    assert s.layers == ("city", "substation") and s.timezone == "America/Chicago"
    assert load_alert_settings("nowhere").timezone == "UTC"
    bad = tmp_path / "a.yaml"
    bad.write_text("k: 0\nquantile: 1.5\n")
    with pytest.raises(ConfigError, match="quantile"):
        load_alert_settings("san_antonio", bad)
    bad.write_text("kk: 2\n")
    with pytest.raises(ConfigError, match="unknown alert settings kk"):
        load_alert_settings("san_antonio", bad)
    with pytest.raises(ConfigError, match="divide a week"):
        AlertSettings(window_minutes=11)


# -- live windows by event time, and the restart -------------------------------------------------
def call(i: int, t: datetime, *, route="crisis", eligible=True, area="WEST", precision="second") -> ClassifiedCall:
    return ClassifiedCall(
        call=CadEvent(agency="sa", incident_id=str(i), source="911", initial_type="Welfare Check",
                      received_at=t, areas={"substation": area}, time_precision=precision),
        apco_code="WELFARE", crosswalk_confidence=1.0, route=route if eligible else "police",
        eligible_initial=eligible, eligible=eligible, reasons=[], policy_version="p1")


def history_calls(hours: int, spike_at: int | None = None) -> list[ClassifiedCall]:
    out, n = [], 0
    for h in range(hours):
        k = normal(h) + (40 if spike_at is not None and spike_at <= h < spike_at + 3 else 0)
        for j in range(k + 5):
            t = START + HOUR * h + timedelta(seconds=(j * 3593) % 3600)
            out.append(call(n, t, eligible=j < k, area="WEST" if j % 2 else "EAST"))
            n += 1
    return sorted(out, key=lambda c: c.call.received_at)


def settings_for(_agency):
    return AlertSettings(k=2, min_history_windows=168, layers=("city", "substation"))


def test_windows_close_by_event_time_not_by_arrival():
    m = SpikeMonitor(settings_for)
    calls = history_calls(3)
    m.windows.add(calls)
    first = m.windows.close()
    # the last hour stays open: no event has passed its end + the allowed lateness
    assert [w.start for w in first] == [START, START + HOUR]
    assert first[0].calls == sum(c.call.received_at < START + HOUR for c in calls)
    assert first[0].counts[CITY_CRISIS] == normal(0)
    assert first[0].counts[("substation", "WEST", "crisis")] + first[0].counts[("substation", "EAST", "crisis")] == normal(0)
    # a call for a closed window is late: counted as such, never in a window
    m.windows.add([call(10_000, START + timedelta(minutes=5))])
    assert m.windows.late["sa"] == 1
    # the same incident delivered twice counts once; a day-only time counts in no hourly window
    t = START + HOUR * 2 + timedelta(minutes=1)
    m.windows.add([call(20_000, t), call(20_000, t), call(20_001, t, precision="day")])
    m.windows.add([call(20_002, START + HOUR * 3 + timedelta(minutes=11))])
    (last,) = m.windows.close()
    assert last.counts[CITY_CRISIS] == normal(2) + 1 and m.windows.day_only["sa"] == 1


def test_a_partition_read_ahead_does_not_close_windows_the_others_still_fill():
    m = SpikeMonitor(settings_for)
    m.windows.partitions = frozenset({0, 1})
    calls = history_calls(6)
    even, odd = calls[::2], calls[1::2]
    m.windows.add(even, partition=0)             # partition 0's whole backlog first
    assert m.windows.close() == []               # partition 1 has said nothing yet
    m.windows.add(odd, partition=1)
    closed = m.windows.close()
    assert len(closed) == 5 and m.windows.late["sa"] == 0
    assert closed[0].counts[CITY_CRISIS] == normal(0)


def test_pickled_monitor_continues_exactly_like_the_original():
    calls = history_calls(168 * 2 + 40, spike_at=168 * 2 + 20)
    cut = len(calls) // 2
    a = SpikeMonitor(settings_for)
    a.observe(calls[:cut])
    b = SpikeMonitor.from_bytes(a.to_bytes())
    alerts_a, alerts_b = a.observe(calls[cut:]), b.observe(calls[cut:])
    assert alerts_a == alerts_b
    assert [x.state for x in alerts_a if x.area_layer == "city"] == ["firing", "resolved"]
    assert a.detector.readings == b.detector.readings


def test_rebuild_from_stored_counts_equals_watching_live():
    calls = history_calls(168 * 2 + 40, spike_at=168 * 2 + 20)
    live = SpikeMonitor(settings_for)
    live_alerts = live.observe(calls)
    frame = pd.DataFrame({
        "agency": [c.call.agency for c in calls], "received_at": [c.call.received_at for c in calls],
        "eligible": [c.eligible for c in calls], "route": [c.route for c in calls],
        "areas": [c.call.areas for c in calls], "policy_version": "p1"})
    closed_live = {w for w in live.detector.readings.values()}
    windows = frame_windows(frame, settings_for("sa"), "sa")
    # the live monitor has not closed the last hour yet; the rebuild sees the same closed ones
    closed = [w for w in windows if w.end <= max(r.window_end for r in closed_live)]
    rebuilt = rebuild_from_counts(closed, settings_for)
    assert rebuilt.detector.readings == live.detector.readings
    assert rebuilt.detector.firing == live.detector.firing
    assert any(a.state == "firing" for a in live_alerts)
    # after a rebuild the stream goes on: calls of closed windows are late, not counted twice
    rebuilt.observe(calls[-50:])
    assert rebuilt.windows.late["sa"] == sum(c.call.received_at < closed[-1].end for c in calls[-50:])
