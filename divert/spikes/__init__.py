"""Spike alerts: diversion-eligible volume above what is normal for its area and hour of the week.

All pure (no broker, no database). Each module imports only those listed before it (and events):

- :mod:`divert.spikes.settings` — :class:`AlertSettings` and :func:`load_alert_settings`
  (reference/alerting.yaml, per city).
- :mod:`divert.spikes.windows` — :class:`EventTimeWindows`: calls counted into windows by event
  time, closed by watermark into :class:`ClosedWindow` counts per series.
- :mod:`divert.spikes.wording` — :func:`alert_text`: an alert in a manager's words.
- :mod:`divert.spikes.detector` — :class:`SpikeDetector`: the ``threshold`` and ``cusum``
  detectors, per series, against a seasonal expected count.
- :mod:`divert.spikes.monitor` — :class:`SpikeMonitor`: windows plus detector for the stream
  agent; pickles whole.
- :mod:`divert.spikes.history` — windows from stored counts or a frame, the rebuild of a monitor
  after a restart, the replay of alerts (``divert alerts tune``).
- :mod:`divert.spikes.events` — declared events (reference/events/<agency>.yaml);
  :mod:`divert.spikes.power` — the power curve of the alerting.

The names the rest of divert uses are re-exported here: ``from divert.spikes import X`` works.
"""

from divert.spikes.detector import AlertFigures, Reading, SpikeDetector, nb_llr
from divert.spikes.history import closed_windows, frame_windows, rebuild_from_counts, replay_alerts
from divert.spikes.monitor import SpikeMonitor
from divert.spikes.settings import (
    CITY_AREA,
    CITY_LAYER,
    DETECTORS,
    AlertSettings,
    load_alert_settings,
)
from divert.spikes.windows import ORIGIN, ClosedWindow, EventTimeWindows, SeriesKey, series_of, window_start
from divert.spikes.wording import alert_text

__all__ = [
    "CITY_AREA",
    "CITY_LAYER",
    "DETECTORS",
    "ORIGIN",
    "AlertFigures",
    "AlertSettings",
    "ClosedWindow",
    "EventTimeWindows",
    "Reading",
    "SeriesKey",
    "SpikeDetector",
    "SpikeMonitor",
    "alert_text",
    "closed_windows",
    "frame_windows",
    "load_alert_settings",
    "nb_llr",
    "rebuild_from_counts",
    "replay_alerts",
    "series_of",
    "window_start",
]
