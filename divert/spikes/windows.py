"""Windows by event time: :class:`EventTimeWindows` counts classified calls into windows by
**event time** (``received_at``). A window closes when the watermark — the latest event time seen
for the agency minus an allowed lateness — passes its end, never by the worker's clock, so a
replay or a lagging consumer closes the same windows as a live feed. When the calls come from
several partitions, the latest time is the *least* of the partitions' latest times: a consumer
that reads one partition's backlog before the next must not close windows that the other
partitions still fill. A window in which the agency had no call at all is a gap in the feed (an
outage, or history sampled only on some days), not a quiet hour: it is never emitted, so nothing
learns zeros from it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from divert.periods import WINDOW_ORIGIN
from divert.spikes.settings import CITY_AREA, CITY_LAYER
from schemas.records import ClassifiedCall

ORIGIN = WINDOW_ORIGIN  # windows align like date_bin/time_bucket (a Monday)


class SeriesKey(NamedTuple):
    layer: str
    area: str
    route: str


def window_start(t: datetime, window: timedelta) -> datetime:
    """The start of the window holding ``t`` (windows aligned on WINDOW_ORIGIN).

    >>> from datetime import UTC
    >>> window_start(datetime(2024, 5, 1, 13, 47, tzinfo=UTC), timedelta(minutes=15)).isoformat()
    '2024-05-01T13:45:00+00:00'
    """
    return t - (t - ORIGIN) % window


class ClosedWindow(NamedTuple):
    """One closed window of one agency: all calls (coverage) and eligible calls per series."""

    agency: str
    start: datetime
    end: datetime
    calls: int
    counts: Mapping[tuple[str, str, str], int]
    policy_version: str


def series_of(call: ClassifiedCall, layers: Sequence[str], routes: Sequence[str]) -> list[SeriesKey]:
    """The series an eligible call counts in (none for a call that is not eligible)."""
    if not call.eligible or call.route not in routes:
        return []
    areas = call.call.areas
    out = []
    for layer in layers:
        area = CITY_AREA if layer == CITY_LAYER else areas.get(layer)
        if area:
            out.append(SeriesKey(layer, area, call.route))
    return out


# -- live windows by event time ---------------------------------------------------------------
@dataclass
class _Open:
    calls: int = 0
    counts: Counter = field(default_factory=Counter)
    seen: set = field(default_factory=set)  # incident ids: a redelivered call counts once


@dataclass
class _AgencyWindows:
    max_event: datetime | None = None
    partition_max: dict = field(default_factory=dict)
    closed_until: datetime | None = None
    policy_version: str = ""
    open: dict = field(default_factory=dict)


class EventTimeWindows:
    """Counts calls into event-time windows and closes them by watermark (see module doc)."""

    def __init__(self, settings_for):
        self._settings_for = settings_for
        self._agencies: dict[str, _AgencyWindows] = {}
        self.partitions: frozenset[int] = frozenset()  # the input partitions this worker reads
        self.late = Counter()        # per agency: calls older than a closed window (dropped here)
        self.day_only = Counter()    # per agency: calls known only to the day (no hourly window)

    def add(self, calls: Iterable[ClassifiedCall], partition: int | None = None) -> None:
        """Count calls (all read from ``partition`` when the source is partitioned)."""
        for c in calls:
            ev = c.call
            if ev.time_precision != "second":
                self.day_only[ev.agency] += 1
                continue
            s = self._settings_for(ev.agency)
            state = self._agencies.setdefault(ev.agency, _AgencyWindows())
            t = ev.received_at
            if state.closed_until is not None and t < state.closed_until:
                self.late[ev.agency] += 1
                continue
            # a redelivered call still shows how far its partition has come
            if state.max_event is None or t > state.max_event:
                state.max_event = t
            if partition is not None:
                held = state.partition_max.get(partition)
                if held is None or t > held:
                    state.partition_max[partition] = t
            w = state.open.setdefault(window_start(t, s.window), _Open())
            if ev.incident_id in w.seen:
                continue
            w.seen.add(ev.incident_id)
            w.calls += 1
            for key in series_of(c, s.layers, s.routes):
                w.counts[key] += 1
            state.policy_version = c.policy_version

    def close(self) -> list[ClosedWindow]:
        """Every window whose end the agency's watermark has passed, oldest first."""
        out = []
        for agency, state in self._agencies.items():
            latest = self._latest(state)
            if latest is None:
                continue
            s = self._settings_for(agency)
            watermark = latest - timedelta(minutes=s.allowed_lateness_minutes)
            for start in sorted(state.open):
                end = start + s.window
                if end > watermark:
                    break
                w = state.open.pop(start)
                out.append(ClosedWindow(agency, start, end, w.calls, dict(w.counts), state.policy_version))
                state.closed_until = end
        out.sort(key=lambda w: w.start)
        return out

    def _latest(self, state: _AgencyWindows) -> datetime | None:
        if not self.partitions:
            return state.max_event
        held = [state.partition_max.get(p) for p in self.partitions]
        return None if any(t is None for t in held) else min(held)

    def mark_closed(self, agency: str, until: datetime, max_event: datetime | None = None) -> None:
        """After a rebuild: windows before ``until`` are done (their calls came from the database)."""
        state = self._agencies.setdefault(agency, _AgencyWindows())
        state.closed_until = until
        if max_event is not None and (state.max_event is None or max_event > state.max_event):
            state.max_event = max_event
        for start in [s for s in state.open if s < until]:
            del state.open[start]
