"""The windows and the detector together, for the stream agent: :class:`SpikeMonitor`
(``observe(calls) -> alerts``). The whole monitor pickles (:meth:`SpikeMonitor.to_bytes`) and can
be rebuilt from stored counts (:func:`divert.spikes.history.rebuild_from_counts`), so state
survives a restart."""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping

from divert.exceptions import ConfigError
from divert.spikes.detector import SpikeDetector
from divert.spikes.settings import AlertSettings, load_alert_settings
from divert.spikes.windows import EventTimeWindows
from schemas.records import Alert, ClassifiedCall


class SpikeMonitor:
    """Windows by event time plus the detector: ``observe(calls) -> alerts``. Pickles whole."""

    def __init__(self, settings_for):
        self._settings: dict[str, AlertSettings] = {}
        self._settings_for = settings_for
        self.windows = EventTimeWindows(self.settings_for)
        self.detector = SpikeDetector(_LazySettings(self.settings_for))

    def settings_for(self, agency: str) -> AlertSettings:
        if agency not in self._settings:
            self._settings[agency] = self._settings_for(agency)
        return self._settings[agency]

    def observe(self, calls: Iterable[ClassifiedCall], partition: int | None = None) -> list[Alert]:
        self.windows.add(calls, partition)
        return self.detector.update(self.windows.close())

    @property
    def agencies(self) -> set[str]:
        """Agencies this monitor holds counts or series for."""
        return set(self.windows._agencies) | {k[0] for k in self.detector._series}

    def forget(self, agency: str) -> None:
        """Drop an agency (its counting moved to another worker); it is rebuilt if it comes back."""
        self.windows._agencies.pop(agency, None)
        self.detector.forget(agency)

    def adopt(self, other: SpikeMonitor, agency: str) -> None:
        """Take one agency's whole state (windows, series, settings) from another monitor, e.g.
        one rebuilt from the database for that agency alone."""
        self.forget(agency)
        if agency in other._settings:
            self._settings[agency] = other._settings[agency]
        if agency in other.windows._agencies:
            self.windows._agencies[agency] = other.windows._agencies[agency]
        d, o = self.detector, other.detector
        for k in [k for k in o._series if k[0] == agency]:
            d._series[k] = o._series[k]
        for k in [k for k in o.readings if k[0] == agency]:
            d.readings[k] = o.readings[k]
        if agency in o._last_end:
            d._last_end[agency] = o._last_end[agency]
        if agency in o._calendars:
            d._calendars[agency] = o._calendars[agency]

    def to_bytes(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def from_bytes(data: bytes) -> SpikeMonitor:
        monitor = pickle.loads(data)
        if not isinstance(monitor, SpikeMonitor):
            raise ConfigError("not a saved spike monitor")
        return monitor

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_settings_for"] = None  # a loader function need not pickle: settings are kept
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self._settings_for is None:
            self._settings_for = _saved_settings(self._settings)


class _LazySettings(Mapping):
    def __init__(self, get):
        self._get = get

    def __getitem__(self, agency):
        return self._get(agency)

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0


def _saved_settings(saved: dict[str, AlertSettings]):
    def get(agency: str) -> AlertSettings:
        if agency in saved:
            return saved[agency]
        return load_alert_settings(agency)
    return get
