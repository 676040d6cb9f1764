"""The cost tables as a person reads them (text) and as a spreadsheet reads them (CSV).

Every line names its basis: *measured* on-scene time, *assumed* minutes (the model's source),
or *mixed*; every dollar figure its rate's source and fiscal year; every table the policy
version that classified the calls.
"""

from __future__ import annotations

import csv
import io
import textwrap
from dataclasses import dataclass, field
from datetime import datetime

from divert.costs.compute import AlternativeEstimate, CostLine
from divert.costs.model import CostModel, Range

STAGE_TEXT = {
    "all": "all calls (community and officer-initiated)",
    "eligible_initial": "diversion-eligible on the initial call type (what dispatch knew; an upper bound)",
    "eligible": "diversion-eligible after the disqualifiers (weapon, violence, injury, priority)",
}
CSV_COLUMNS = ["section", "stage", "route", "apco_code", "label", "calls", "timed_calls", "assumed_calls",
               "police_hours", "police_hours_low", "police_hours_high", "police_cost", "police_cost_low",
               "police_cost_high", "basis", "source", "policy_version", "model", "alt_team_hours_per_week",
               "alt_cost", "alt_cost_low", "alt_cost_high", "net_saving", "net_saving_low", "net_saving_high",
               "alt_responders_per_team", "alt_withheld"]
WIDTH = 110   # no line of the text output is longer


@dataclass(frozen=True)
class CostReport:
    city: str
    model: CostModel
    start: datetime
    end: datetime
    timezone: str
    calls: int
    days_with_data: int
    routes: list[CostLine]
    categories: list[CostLine]
    alternatives: list[AlternativeEstimate]
    coverage: object | None = None       # divert.coverage.Coverage
    arrivals: dict = field(default_factory=dict)   # (stage, route) -> hour of week -> calls per hour

    @property
    def weeks(self) -> float:
        """Weeks with data: the divisor of every per-week figure."""
        return self.days_with_data / 7

    @property
    def policy_versions(self) -> list[str]:
        return sorted({v for line in self.routes for v in line.policy_versions})

    def source(self, line: CostLine) -> str:
        """Where a line's hours and dollars come from, in a few words."""
        m = self.model
        if line.basis == "measured":
            hours = "hours measured (cleared − arrived × units)"
        else:
            share = line.assumed_calls / line.calls if line.calls else 0
            hours = (f"hours ASSUMED for {share:.0%} of calls: {m.on_scene.file} "
                     f"({m.on_scene.source.split(',')[0]}, {m.on_scene.year})")
        rate = m.police_unit_hour
        return (f"{hours}; rate {rate.method} from {m.city} FY{m.fiscal_year} budget "
                f"(${rate.rate.low:,.2f}/${rate.rate.central:,.2f}/${rate.rate.high:,.2f} per unit-hour)")

    def stage_line(self, stage: str) -> CostLine:
        total = CostLine(stage, "total", "total")
        for line in self.routes:
            if line.stage == stage:
                total.calls += line.calls
                total.timed_calls += line.timed_calls
                total.assumed_calls += line.assumed_calls
                total.hours = total.hours + line.hours
                total.cost = total.cost + line.cost
                total.policy_versions |= line.policy_versions
        return total


def money(x: float) -> str:
    return f"-${-x:,.0f}" if round(x) < 0 else f"${x:,.0f}"


def span(r: Range, fmt=money) -> str:
    """'$10 ($8–$12)'; a bound that reads as the central value is not repeated: '$10 (up to $12)'."""
    low, central, high = fmt(r.low), fmt(r.central), fmt(r.high)
    if low == central == high:
        return central
    if low == central:
        return f"{central} (up to {high})"
    if high == central:
        return f"{central} (from {low})"
    return f"{central} ({low} to {high})" if r.low < 0 else f"{central} ({low}–{high})"


def hours(r: Range, digits: int = 0) -> str:
    """'1,384 h (873–2,076 h)': a wrapped line never splits a range between a number and its unit."""
    central, text = f"{r.central:,.{digits}f}", span(r, lambda x: f"{x:,.{digits}f}")
    return f"{central} h" + text[len(central):].replace(")", " h)")


def net(r: Range) -> str:
    return span(r)


def wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    """``text`` as lines of at most WIDTH characters, continuation lines indented."""
    return textwrap.wrap(text, WIDTH, initial_indent=indent if first is None else first,
                         subsequent_indent=indent + "  ", break_on_hyphens=False) or [""]


def per_week(calls: float, weeks: float) -> str:
    return f"{calls / weeks:,.1f} a week over the {weeks:,.1f} weeks with data" if weeks else "no weeks with data"


def render_text(r: CostReport, top: int = 15) -> str:
    m, out = r.model, []

    def p(text: str = "", indent: str = "") -> None:
        out.extend(wrap(text, indent) if text else [""])

    days = r.days_with_data
    p(f"{r.city}: police time and what it costs, {r.start:%Y-%m-%d} – {r.end:%Y-%m-%d} ({r.timezone})")
    for note in r.coverage.notes() if r.coverage else ():
        p(note)
    p(f"{r.calls:,} stored calls on {days:,} days with data ({r.weeks:,.1f} weeks).")
    if r.coverage is not None and r.coverage.partial_calls:
        p("Police time below is the covered part's; the alternative's cost is not set against it.")
    p(f"Cost model {m.version} ({m.path.rsplit('/', 1)[-1]}); calls classified by policy "
      f"{', '.join(r.policy_versions) or 'unknown'}. Figures: central (low–high).")
    p("")
    p(f"Loaded cost of a police unit-hour, FY{m.police_unit_hour.year} ({m.police_unit_hour.method}):")
    for text in m.police_unit_hour.derivation():
        p(text, "  ")
    p(f"source: {m.police_unit_hour.source}", "  ")
    total = r.stage_line("all")
    if total.assumed_calls:
        p("")
        p(f"ASSUMED on-scene time: {total.assumed_calls:,} of {total.calls:,} calls "
          f"({total.assumed_calls / total.calls:.0%}) have no clear time (arrived → cleared); their unit-minutes are "
          f"assumed by call category from {m.on_scene.source} ({m.on_scene.year}). low = one unit, central = "
          f"units per call, high = ×{m.on_scene.high_factor:g} ({m.on_scene.high_factor_source}).")
    for stage in ("all", "eligible_initial", "eligible"):
        p("")
        t = r.stage_line(stage)
        p(f"== {STAGE_TEXT[stage]}: {t.calls:,} calls, {hours(t.hours)}, {span(t.cost)}")
        out.append(f"   {'route':<18}{'calls':>9}  {'police unit-hours':<32}{'police cost':<36}basis")
        for line in (x for x in r.routes if x.stage == stage):
            out.append(f"   {line.key:<18}{line.calls:>9,}  {hours(line.hours):<32}{span(line.cost):<36}{line.basis}")
    p("")
    p(f"== by call category (APCO code), top {top} by police hours: calls, police unit-hours, police cost | "
      "eligible after the disqualifiers: calls, police cost")
    eligible = {x.key: x for x in r.categories if x.stage == "eligible"}
    shown = [x for x in r.categories if x.stage == "all"][:top]
    cost_w = max((len(span(x.cost)) for x in shown), default=0) + 1
    elig_w = max((len(money(e.cost.central)) for e in eligible.values()), default=2)
    # the label takes what the numbers leave of the line
    label_w = max(8, WIDTH - 40 - cost_w - elig_w)
    for line in shown:
        e = eligible.get(line.key)
        out.append(f"   {line.key:<9}{(line.label or '')[:label_w - 1]:<{label_w}}{line.calls:>8,}"
                   f"{line.hours.central:>8,.0f} h {span(line.cost):<{cost_w}}"
                   f"|{e.calls if e else 0:>7,} {money(e.cost.central) if e else '$0'}")
    p("")
    p("== what teams of the alternative would cost to take the eligible volume (Erlang C, divert/staffing.py)")
    if not r.alternatives:
        p("the model prices no alternative for the eligible routes", "   ")
    for a in r.alternatives:
        alt = a.alternative
        p("")
        p(f"{STAGE_TEXT[a.stage].split(' (')[0]} · {a.route}: {a.calls:,} calls, "
          f"{a.calls_per_week:,.1f} a week over the {a.weeks:,.1f} weeks with data", "   ")
        p(f"{alt.name} (a team: {alt.responders_per_team} "
          f"{'person' if alt.responders_per_team == 1 else 'people'}): {a.team_hours_per_week:,} team-hours a week on duty "
          f"({a.responder_hours_per_week:,} responder-hours), peak {a.peak_teams} "
          f"{'team' if a.peak_teams == 1 else 'teams'}, to reach {alt.target_share:.0%} of calls within "
          f"{alt.target_minutes:g} min at {alt.service_minutes:g} min a call"
          f"{' (assumed)' if alt.service_assumption else ''}", "     ")
        p(f"police time freed: {hours(a.police_hours_freed)}, {span(a.police_cost_freed)}", "     ")
        if a.withheld:
            p(f"NOT PRICED against the police time: {a.withheld}.", "     ")
            continue
        p(f"cost over the {a.weeks:,.1f} weeks with data: {span(a.cost)} "
          f"({money(a.cost.central / a.weeks) if a.weeks else '—'} a week); {alt.derivation}", "     ")
        p(f"source: {alt.source}{' [ASSUMPTION]' if alt.assumption else ''}", "     ")
        p(f"police cost freed minus the alternative: {net(a.net)}; the alternative per call "
          f"{money(a.cost.central / a.calls) if a.calls else '—'}", "     ")
    p("")
    p("The police cost is what the hours spent on these calls cost at the loaded rate, not money a budget "
      "would save: officers freed from calls are redeployed unless positions are cut.")
    return "\n".join(out)


def render_csv(r: CostReport) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    alt = {(a.stage, a.route): a for a in r.alternatives}
    for section, lines in (("route", r.routes), ("category", r.categories)):
        for line in lines:
            a = alt.get((line.stage, line.key)) if section == "route" else None
            w.writerow([section, line.stage, line.key if section == "route" else "",
                        line.key if section == "category" else "", line.label, line.calls, line.timed_calls,
                        line.assumed_calls, *(f"{x:.2f}" for x in (line.hours.central, line.hours.low, line.hours.high,
                                                               line.cost.central, line.cost.low, line.cost.high)),
                        line.basis, r.source(line), ", ".join(sorted(line.policy_versions)), r.model.version,
                        a.team_hours_per_week if a else "",
                        *((f"{a.cost.central:.2f}", f"{a.cost.low:.2f}", f"{a.cost.high:.2f}",
                           f"{a.net.central:.2f}", f"{a.net.low:.2f}", f"{a.net.high:.2f}")
                          if a and not a.withheld else ("",) * 6),
                        a.alternative.responders_per_team if a else "", (a.withheld or "") if a else ""])
    return buf.getvalue()
