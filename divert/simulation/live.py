"""The simulation's live state, for the supervisor: the configured teams run over the last hours'
eligible calls up to *now* (event time), and what they would be doing at that moment.

>>> from datetime import UTC, datetime, timedelta
>>> from divert.simulation.calls import AssumedService, SimCall
>>> now = datetime(2024, 7, 2, 18, tzinfo=UTC)
>>> calls = [SimCall(str(i), now - timedelta(minutes=m)) for i, m in enumerate((50, 20, 10, 5))]
>>> s = live_state(calls, teams=2, now=now, target_minutes=15, assumed=AssumedService.flat(45, "assumed"))
>>> (s.eligible_last_hour, s.busy, s.free, s.waiting, s.started_within_target, s.lost)
(4, 2, 0, 1, 3, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from divert.simulation.calls import AssumedService, SimCall
from divert.simulation.engine import simulate

WARM_UP = timedelta(hours=3)   # calls before the last hour that may still hold a team


@dataclass(frozen=True)
class LiveState:
    teams: int
    busy: int                        # teams on a call at ``now``
    waiting: int                     # calls arrived, not started, still within the patience
    eligible_last_hour: int
    started_within_target: int       # of the last hour's calls, started (or to be) within the target
    lost: int                        # of the last hour's calls, no team within the patience: police took them
    service_source: str

    @property
    def free(self) -> int:
        return self.teams - self.busy


def live_state(calls: Sequence[SimCall], *, teams: int, now: datetime, target_minutes: float,
               assumed: AssumedService, timezone: tzinfo | None = None) -> LiveState:
    """``teams`` teams on duty over ``calls`` (those arrived in the hours up to ``now``); the state at ``now``."""
    from datetime import UTC

    tz = timezone or UTC
    recent = sorted((c for c in calls if now - WARM_UP - timedelta(hours=1) <= c.arrival <= now),
                    key=lambda c: c.arrival)
    hour = now - timedelta(hours=1)
    if not recent or teams <= 0:
        return LiveState(max(teams, 0), 0, 0, sum(c.arrival > hour for c in recent), 0, 0, assumed.source)
    days = {(recent[0].arrival - timedelta(hours=1)).astimezone(tz).date() + timedelta(days=i)
            for i in range((now.astimezone(tz).date() - recent[0].arrival.astimezone(tz).date()).days + 2)}
    sim = simulate(recent, teams=teams, target_minutes=target_minutes, assumed=assumed, timezone=tz,
                   observed_days=days)
    minute = timedelta(minutes=1)
    busy = waiting = 0
    for o in sim.outcomes:
        arrived = o.call.arrival
        if o.wait_minutes is None:
            waiting += arrived + sim.patience_minutes * minute > now
            continue
        start = arrived + o.wait_minutes * minute
        if start > now:
            waiting += 1
        elif start + o.service_minutes * minute > now:
            busy += 1
    last = [o for o in sim.outcomes if o.call.arrival > hour]
    return LiveState(teams, min(busy, teams), waiting, len(last), sum(o.within(target_minutes) for o in last),
                     sum(o.lost and o.call.arrival + sim.patience_minutes * minute <= now for o in last),
                     assumed.source)
