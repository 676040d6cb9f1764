"""How many teams, and when, for X% of calls started within T minutes: searched by simulation,
with Erlang C's answer for the same inputs beside it.

Flat (``block_hours=None``): the smallest number of teams on duty at every program hour whose
simulated share within target reaches X. By blocks of hours of the week (``block_hours`` = 1, 2,
3, 4, 6, 8, 12 or 24): every block starts at one team (none when no call arrives in it), and each
round adds a team to every block whose calls fall short of X, until none does — blocks are
searched together because a queue left at the end of one block spills into the next.

Erlang C (:mod:`divert.staffing`) gets the same inputs: the block's calls per observed hour
(calls ÷ the block's hours on the observed days) and the mean of the same service minutes the
simulation used (measured or assumed). It assumes Poisson arrivals at that average rate and
exponential service, and never loses a call, where the simulation replays the real, clustered
arrivals and loses calls after the patience.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, tzinfo

from divert.exceptions import ConfigError
from divert.simulation.calls import AssumedService, SimCall
from divert.simulation.engine import Discipline, Simulation, hour_of_week, observed_hours, simulate
from divert.simulation.program import Program
from divert.staffing import DAYS, responders_needed, service_level


@dataclass(frozen=True)
class BlockSizing:
    block: str                         # "all", or "Mon 08–12"
    hours: tuple[int, ...]             # hours of week
    calls: int
    arrivals_per_hour: float           # calls per observed hour of the block
    mean_service_minutes: float
    teams: int                         # the simulation's answer
    share_within_target: float | None  # simulated, at ``teams``
    erlang_c_teams: int                # Erlang C's answer for the same inputs
    erlang_c_share: float              # Erlang C's share within target at ``teams``


@dataclass(frozen=True)
class Sizing:
    target_minutes: float
    target_share: float
    blocks: tuple[BlockSizing, ...]
    schedule: dict[int, int]           # teams per hour of week (the simulation's answer)
    erlang_c_schedule: dict[int, int]
    simulation: Simulation             # the run at ``schedule``

    @property
    def team_hours_per_week(self) -> int:
        return sum(self.schedule.values())

    @property
    def erlang_c_team_hours_per_week(self) -> int:
        return sum(self.erlang_c_schedule.values())


def blocks_of(hours: Collection[int] | None, block_hours: int | None) -> dict[str, tuple[int, ...]]:
    """Hours of week grouped into blocks of ``block_hours`` from midnight (None: one block, 'all')."""
    hours = sorted(set(range(168) if hours is None else hours))
    if block_hours is None:
        return {"all": tuple(hours)}
    if block_hours <= 0 or 24 % block_hours:
        raise ConfigError(f"a block must divide the day (1, 2, 3, 4, 6, 8, 12 or 24 hours), not {block_hours}")
    grouped: dict[int, list[int]] = {}
    for h in hours:
        grouped.setdefault(h // block_hours, []).append(h)
    # named by the hours it holds: a block cut by the program's hours says so ("Tue 07–08")
    return {f"{DAYS[hs[0] // 24]} {hs[0] % 24:02d}–{hs[-1] % 24 + 1:02d}": tuple(hs) for hs in grouped.values()}


def teams_needed(calls: Sequence[SimCall], *, target_minutes: float, target_share: float = 0.8,
                 assumed: AssumedService, timezone: tzinfo = UTC, hours: Collection[int] | None = None,
                 block_hours: int | None = None, patience_minutes: float | None = None,
                 discipline: Discipline = "fifo", observed_days: Collection[date] | None = None,
                 limit: int = 100) -> Sizing:
    """The teams, flat or per block of hours, for ``target_share`` of ``calls`` started within
    ``target_minutes`` (``hours``: the program's hours of week, None = all)."""
    if not 0 < target_share < 1:
        raise ConfigError(f"target share must be between 0 and 1, not {target_share}")
    blocks = blocks_of(hours, block_hours)
    days = set(observed_days) if observed_days is not None else {c.arrival.astimezone(timezone).date() for c in calls}

    def run(teams: dict[str, int]) -> Simulation:
        return simulate(calls, teams={h: n for b, n in teams.items() for h in blocks[b]},
                        target_minutes=target_minutes, assumed=assumed, timezone=timezone,
                        patience_minutes=patience_minutes, discipline=discipline, observed_days=days)

    def share(sim: Simulation, block: str) -> tuple[int, float | None]:
        summaries = [sim.by_hour_of_week[h] for h in blocks[block] if h in sim.by_hour_of_week]
        n = sum(s.calls for s in summaries)
        return n, (sum(s.within_target for s in summaries) / n if n else None)

    # a block with no call needs no team; every other starts at one
    arriving = {hour_of_week(c.arrival, timezone) for c in calls}
    teams = {b: 1 if arriving.intersection(hs) else 0 for b, hs in blocks.items()}
    for _ in range(limit):
        sim = run(teams)
        short = [b for b in blocks if (s := share(sim, b)[1]) is not None and s < target_share]
        if not short:
            break
        for b in short:
            teams[b] += 1
    else:
        raise ConfigError(f"more than {limit} teams would be needed: check the calls and service times")

    hours_seen = observed_hours(days, timezone)
    rows = []
    for b, hs in blocks.items():
        in_block = set(hs)
        group = [o for o in sim.outcomes if o.hour_of_week in in_block]
        observed = sum(hours_seen[h] for h in hs)
        rate = len(group) / observed if observed else 0.0
        mean = sum(o.service_minutes for o in group) / len(group) if group else 0.0
        # no load (no call, or calls that took no time) needs no team: Erlang C refuses a 0-minute service
        erlang = responders_needed(arrivals_per_hour=rate, service_minutes=mean, target_minutes=target_minutes,
                                   target_share=target_share) if rate and mean else 0
        erlang_share = service_level(teams[b], arrivals_per_hour=rate, service_minutes=mean,
                                     target_minutes=target_minutes)
        rows.append(BlockSizing(b, hs, len(group), rate, mean, teams[b], share(sim, b)[1], erlang, erlang_share))
    return Sizing(target_minutes, target_share, tuple(rows),
                  {h: r.teams for r in rows for h in r.hours if r.teams},
                  {h: r.erlang_c_teams for r in rows for h in r.hours if r.erlang_c_teams}, sim)


def erlang_c_share(simulation: Simulation) -> float | None:
    """Erlang C's share within target for a run with the same teams at every hour on duty, for the
    same inputs: its calls per on-duty hour and mean service minutes (None: the teams vary)."""
    teams = set(simulation.schedule.values())
    duty_hours = simulation.overall.duty_team_minutes / 60 / max(teams, default=1)
    if len(teams) != 1 or not duty_hours or not simulation.outcomes:
        return None
    return service_level(teams.pop(), arrivals_per_hour=simulation.overall.calls / duty_hours,
                         service_minutes=simulation.mean_service_minutes,
                         target_minutes=simulation.target_minutes)


def teams_for_program(program: Program, calls: Sequence[SimCall], *, assumed: AssumedService,
                      block_hours: int | None = None, observed_days: Collection[date] | None = None) -> Sizing:
    """:func:`teams_needed` with the program's hours, target, patience and queue discipline."""
    return teams_needed(calls, target_minutes=program.target_minutes, target_share=program.target_share,
                        assumed=assumed, timezone=program.timezone, hours=program.availability.hours,
                        block_hours=block_hours, patience_minutes=program.patience_minutes,
                        discipline=program.discipline, observed_days=observed_days)
