"""Render the council report: one self-contained HTML page (inline SVG charts, no script, nothing
fetched), plain words first, every number with its source and the policy version.

>>> from divert.evaluation.report import fetches_anything
>>> fetches_anything(_page("t", "<p>x</p>"))
False
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from divert.costs.table import STAGE_TEXT, money
from divert.evaluation.report import _CSS, _svg, display_name, esc, fetches_anything, pyplot
from divert.labels import area_name, route_name
from divert.report.data import CouncilData
from divert.report.map import area_shapes, svg_map

ROUTE_COLOURS = {"crisis": "#d9480f", "navigator": "#2b8a3e", "co_response": "#ae3ec9", "police": "#1f5fa8",
                 "officer_initiated": "#495057", "ems_fire": "#e8590c", "admin": "#adb5bd"}


def _demand_chart(d: CouncilData) -> str:
    pivot = d.demand.pivot_table(index="route", columns="source", values="calls", aggfunc="sum", fill_value=0)
    pivot = pivot.loc[pivot.sum(axis=1).sort_values().index]
    pivot.index = [route_name(r) for r in pivot.index]
    fig, ax = pyplot().subplots(figsize=(10, 3.6), dpi=100)
    left = None
    palette = ["#1f5fa8", "#74c0fc", "#495057", "#f08c00", "#adb5bd"]
    for i, source in enumerate(pivot.columns):
        ax.barh(pivot.index, pivot[source], left=left, color=palette[i % len(palette)], label=str(source).replace("_", "-"))
        left = pivot[source] if left is None else left + pivot[source]
    ax.set_xlabel("calls")
    ax.set_title("Calls by route (what the policy would send) and source", fontsize=11)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def _cost_chart(d: CouncilData) -> str:
    c = d.costs
    stages = ["all", "eligible_initial", "eligible"]
    labels = ["all calls", "eligible\n(initial type)", "eligible\n(after disqualifiers)"]
    lines = [c.stage_line(s) for s in stages]
    fig, axes = pyplot().subplots(1, 2, figsize=(10, 3.4), dpi=100)
    for ax, what, unit in ((axes[0], "hours", "police unit-hours"), (axes[1], "cost", "police cost, $")):
        vals = [getattr(x, what) for x in lines]
        ax.bar(labels, [v.central for v in vals], color=["#1f5fa8", "#74c0fc", "#2b8a3e"],
               yerr=[[v.central - v.low for v in vals], [v.high - v.central for v in vals]], capsize=5)
        ax.set_title(f"{unit} (central; bars: low–high)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.tick_params(axis="x", labelsize=8)
    return _svg(fig)


def _burden_map(d: CouncilData) -> str:
    """The city's areas, drawn from its boundary file and shaded by the burden measure; a sentence
    when the city has no boundary file for the layer."""
    city = display_name(d.city)
    shapes = area_shapes(d.city, d.layer)
    if not shapes:
        return (f"<p>No boundary file of {esc(city)}'s {esc(d.layer)}s is available, so the areas are listed "
                "below rather than mapped.</p>")
    total_e = sum(b.enforcement for b in d.burden) or 1
    total_c = sum(b.crime for b in d.burden) or 1
    ratios = {b.area: (b.enforcement / total_e) / (b.crime / total_c) if b.crime else math.inf for b in d.burden}
    known = {a for a, _ in shapes}
    unmapped = sorted(b.area for b in d.burden if b.area not in known)
    caption = ["Colour: the area's share of the city's officer-initiated events ÷ its share of reported crime",
               f"(red: more policing than its share of crime; blue: less). {len(ratios) - len(unmapped)} of "
               f"{len(shapes)} {d.layer}s compared; hover over an area for its figures."]
    out = f"<figure>{svg_map(shapes, ratios, {b.area: b.sentence for b in d.burden}, caption=caption)}</figure>"
    if unmapped:
        out += (f"<p class='small'>Not on the map (no boundary in the file, e.g. a newer {esc(d.layer)} code): "
                f"{esc(', '.join(area_name(a) for a in unmapped))}.</p>")
    return out


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _rng(r, fmt=money) -> str:
    return f"{fmt(r.central)} <span class='small'>({fmt(r.low)}–{fmt(r.high)})</span>"


def _h(x: float) -> str:
    return f"{x:,.0f} h"


def _coverage_notes(d: CouncilData) -> list[str]:
    """What the figures' data covers, when the sources cover different parts of the city."""
    cov = d.costs.coverage
    notes = list(cov.notes()) if cov is not None else []
    if cov is not None and cov.partial_calls:
        notes.append("Police time is the covered part's; no team is priced against it, and no share is "
                     "called the city's.")
    return notes


def _alternative_words(d: CouncilData, mark: str) -> list[str]:
    from divert.costs.table import span

    out = []
    for a in (x for x in d.costs.alternatives if x.stage == "eligible"):
        alt, weeks = a.alternative, a.weeks or 1
        calls = (f"the {a.calls:,} {esc(a.route)} calls ({a.calls_per_week:,.1f} a week over the {a.weeks:,.1f} "
                 f"weeks with data)")
        if a.withheld:
            out.append(f"A team of {esc(alt.name.lower())} for {calls} is not priced against police time: "
                       f"{esc(a.withheld)}.{mark}")
            continue
        out.append(f"To take {calls} with {esc(alt.name.lower())} (a team is {alt.responders_per_team} "
                   f"{'person' if alt.responders_per_team == 1 else 'people'}), reaching {alt.target_share:.0%} of "
                   f"them within {alt.target_minutes:g} minutes, {a.team_hours_per_week:,} team-hours a week would be "
                   f"on duty (Erlang C), costing about {span(a.cost * (1 / weeks))} a week, against "
                   f"{span(a.police_cost_freed * (1 / weeks))} a week of police time.{mark}")
    return out


def _alternative_sections(d: CouncilData) -> list[str]:
    """The alternatives' table and what a team of the proposed size would absorb: teams of the cost
    model's size, per week over the weeks with data, withheld where the coverage cannot support it."""
    from divert.costs.table import span

    c, m, out = d.costs, d.costs.model, []
    if not c.alternatives:
        return ["<p>The cost model prices no alternative responder.</p>"]
    rows = []
    for a in c.alternatives:
        weeks = a.weeks or 1
        cost = (f"<span class='assumed'>not priced: {esc(a.withheld)}</span>" if a.withheld
                else f"{span(a.cost * (1 / weeks))} a week")
        rows.append([esc(a.stage.replace("_", " ")), esc(a.route), esc(a.alternative.name),
                     f"{a.alternative.responders_per_team}", f"{a.calls:,} ({a.calls_per_week:,.1f} a week)",
                     f"{a.team_hours_per_week:,}", cost, f"{span(a.police_cost_freed * (1 / weeks))} a week",
                     _rng(a.police_hours_freed, _h)])
    out.append(_table(["eligible", "route", "responder", "people per team", "calls (a week with data)",
                       "team-hours a week", "alternative cost", "police cost freed", "police hours freed (all weeks)"],
                      rows))
    out.append("<ul>" + "".join(f"<li>{esc(a.name)}: {esc(a.derivation)}; {a.service_minutes:g} min a call"
                                f"{' (assumed)' if a.service_assumption else ''}, target {a.target_share:.0%} within "
                                f"{a.target_minutes:g} min</li>" for a in m.alternatives.values()) + "</ul>")
    if d.team:
        t0 = d.team[0]
        out.append(f"<h3>What {t0.teams} {'team' if t0.teams == 1 else 'teams'} on duty at all hours would absorb "
                   f"(per week over the {t0.weeks:,.1f} weeks with data)</h3>")
        rows = []
        for t in d.team:
            if t.out_of_reach:
                reached = (f"{t.answered_in_target_per_week:,.1f} ({t.share_in_target:.0%}): "
                           f"<b>{t.teams_needed} teams needed to reach the target</b> of {t.target_share:.0%}")
            else:
                reached = f"{t.answered_in_target_per_week:,.1f} ({t.share_in_target:.0%})"
            cost = (f"<span class='assumed'>not priced: {esc(t.withheld)}</span>" if t.withheld
                    else money(t.team_cost_per_week))
            rows.append([esc(t.route), f"{t.teams} × {t.responders_per_team}", f"{t.calls_per_week:,.1f}", reached,
                         f"{t.police_hours_freed_per_week:,.1f}", money(t.police_cost_freed_per_week), cost])
        out.append(_table(["route", "teams × people", "eligible calls a week", "reached within target a week",
                           "police hours freed a week", "police cost freed a week", "team cost a week"], rows))
        out.append("<p class='small'>Erlang C queueing: the calls a team reaches within the target when "
                   "that many teams are on duty, hour by hour of the week; the calls beyond stay with police. The "
                   "teams needed are those of the busiest hour.</p>")
    return out


def _page(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{esc(title)}</title>
<style>{_CSS}
.assumed{{color:#c92a2a;font-weight:600}}</style></head><body>
{body}
</body></html>
"""


def render(d: CouncilData, *, generated_at: datetime | None = None) -> str:
    c, m = d.costs, d.costs.model
    generated_at = generated_at or datetime.now(UTC)
    tz = ZoneInfo(d.timezone)
    first, last = d.start.astimezone(tz), d.end.astimezone(tz)
    policy = ", ".join(d.policy_versions) or "unknown"
    community = d.demand[d.demand["source"] != "officer_initiated"]
    n_comm = int(community["calls"].sum())
    elig_i, elig = int(community["eligible_initial"].sum()), int(community["eligible"].sum())
    all_line, e_line = c.stage_line("all"), c.stage_line("eligible")
    uh = m.police_unit_hour
    assumed_share = all_line.assumed_calls / all_line.calls if all_line.calls else 0
    src_n = {"demand": 1, "rate": 2, "minutes": 3, "alt": 4, "burden": 5}
    sources = [
        f"Calls: the stored, classified calls of {esc(display_name(d.city))} ({c.calls:,} calls, {c.days_with_data:,} days with data, "
        f"{first:%Y-%m-%d} – {last:%Y-%m-%d}), classified by policy {esc(policy)}.",
        f"Police unit-hour rate, FY{uh.year} ({uh.method}): {esc(uh.source)}.",
        f"On-scene minutes{' (ASSUMED)' if m.on_scene.assumption else ''}: {esc(m.on_scene.source)} ({m.on_scene.year}); "
        f"reference/costs/{esc(m.on_scene.file)}.",
        "Alternative responders: " + "; ".join(f"{esc(a.name)} — {esc(a.source)}{' [assumption]' if a.assumption else ''}"
                                               for a in m.alternatives.values()) + ".",
        f"Where policing and crime diverge: officer-initiated events in the stored calls against the city's "
        f"reported crime, by {esc(d.layer or 'area')}; boundaries from the city's published area file.",
    ]

    def ref(key: str) -> str:
        return f"<sup>[{src_n[key]}]</sup>"

    words = [
        f"Between {first:%B %-d, %Y} and {last:%B %-d, %Y} {esc(display_name(d.city))} stored {c.calls:,} calls; {n_comm:,} came "
        f"from the community.{ref('demand')} The policy would send {elig_i:,} of those "
        f"({elig_i / max(n_comm, 1):.0%}) to a crisis team or a civilian navigator on what dispatch first knew, and "
        f"{elig:,} ({elig / max(n_comm, 1):.0%}) once calls mentioning a weapon, violence, an injury or a high "
        f"priority are kept with police.",
        f"Those {e_line.calls:,} eligible calls took about {e_line.hours.central:,.0f} police unit-hours "
        f"(between {e_line.hours.low:,.0f} and {e_line.hours.high:,.0f}), worth about {money(e_line.cost.central)} "
        f"({money(e_line.cost.low)}–{money(e_line.cost.high)}) at a loaded cost of {money(uh.rate.central)} an hour "
        f"(FY{uh.year}).{ref('rate')}"
        + (f" <span class='assumed'>On-scene time is assumed for {assumed_share:.0%} of calls</span>: the city's data "
           f"has no clear time, so minutes per call category come from another city's study.{ref('minutes')}"
           if assumed_share else ""),
        "The police cost is the value of the hours, not money a budget would save: officers freed from these calls "
        "are redeployed unless positions change.",
    ]
    words.extend(_alternative_words(d, ref("alt")))
    words[:0] = [f"<span class='assumed'>{esc(note)}</span>" for note in _coverage_notes(d)]

    body = [f"<h1>{esc(display_name(d.city))}: calls for service, police time and the alternatives</h1>",
            f"<p class='meta'>{first:%Y-%m-%d} – {last:%Y-%m-%d} (local time, {esc(d.timezone)}) · every figure "
            f"below comes from calls classified by policy version {esc(policy)} and cost model {esc(m.version)} · "
            f"generated {generated_at.astimezone(tz):%Y-%m-%d %H:%M %Z}</p>",
            "<div class='summary'><h2 style='border:0;margin-top:0'>In plain words</h2>"
            + "".join(f"<p>{w}</p>" for w in words) + "</div>"]

    # demand
    body.append(f"<h2>Demand by route and source{ref('demand')}</h2><figure>{_demand_chart(d)}</figure>")
    piv = d.demand.groupby("route")[["calls", "eligible_initial", "eligible"]].sum().sort_values("calls", ascending=False)
    body.append(_table(["route", "calls", "eligible (initial type)", "eligible (after disqualifiers)"],
                       [[esc(route_name(r)), f"{int(v.calls):,}", f"{int(v.eligible_initial):,}", f"{int(v.eligible):,}"]
                        for r, v in piv.iterrows()]))
    body.append(f"<p>Community calls (911, non-emergency, alarm, other): {n_comm:,}. Eligible on the initial type: "
                f"{elig_i:,} ({elig_i / max(n_comm, 1):.1%}); after the disqualifiers: {elig:,} "
                f"({elig / max(n_comm, 1):.1%}). Officer-initiated events never count as community demand.</p>")

    # police time and cost
    body.append(f"<h2>Police time and what it costs{ref('rate')}{ref('minutes')}</h2><figure>{_cost_chart(d)}</figure>")
    rows = []
    for stage in ("all", "eligible_initial", "eligible"):
        for line in (x for x in c.routes if x.stage == stage):
            basis = f"<span class='assumed'>{line.basis}</span>" if line.basis != "measured" else line.basis
            rows.append([esc(STAGE_TEXT[stage].split(" (")[0]), esc(line.key), f"{line.calls:,}",
                         _rng(line.hours, _h), _rng(line.cost), basis])
    body.append(_table(["calls", "route", "calls", "police unit-hours", "police cost", "on-scene time"], rows))
    body.append("<p><b>Loaded cost of a police unit-hour</b>, derived from the budget (low / central / high):</p><ul>"
                + "".join(f"<li>{esc(t)}</li>" for t in uh.derivation()) + "</ul>")
    if assumed_share:
        body.append(f"<p class='assumed'>Assumed on-scene time: {all_line.assumed_calls:,} of {all_line.calls:,} calls have "
                    f"no clear time. Unit-minutes per call category: {esc(m.on_scene.source)}; low = one unit, central = "
                    f"units per call, high = ×{m.on_scene.high_factor:g} ({esc(m.on_scene.high_factor_source)}).</p>")
    top = [x for x in c.categories if x.stage == "all"][:10]
    body.append("<p>The ten call categories taking the most police time:</p>" + _table(
        ["APCO code", "category", "calls", "police unit-hours", "police cost"],
        [[esc(x.key), esc(x.label[:60]), f"{x.calls:,}", _rng(x.hours, _h), _rng(x.cost)] for x in top]))

    # alternative and team
    body.append(f"<h2>What an alternative would cost{ref('alt')}</h2>")
    body.extend(_alternative_sections(d))

    # burden
    body.append(f"<h2>Where policing and reported crime diverge{ref('burden')}</h2>")
    if d.burden:
        body.append(_burden_map(d))
    if d.dissimilarity is not None:
        body.append(f"<p>Dissimilarity index D = {d.dissimilarity:.3f}: the share of officer-initiated events that "
                    f"would have to move between {esc(d.layer)}s to match where crime is reported.</p>")
    if d.burden:
        body.append("<ul>" + "".join(f"<li>{esc(b.sentence)}</li>" for b in d.burden[:8]) + "</ul>")
    if d.burden_note:
        body.append(f"<p>{esc(d.burden_note)}</p>")
    if d.survey_note:
        body.append(f"<p class='small'>What residents say: {esc(d.survey_note)}</p>")

    # evaluation
    if d.evaluation is not None:
        from divert.evaluation.report import _series_chart, summary

        ev = d.evaluation
        body.append(f"<h2>Evaluation: {esc(ev.program.name)}</h2>")
        body.append("".join(f"<p>{esc(t)}</p>" for t in summary(ev)))
        body.append(f"<figure>{_series_chart(ev)}</figure>")

    # the program's funnel and coverage gaps; the initial → final type reconciliation
    from divert.report.funnel import reconciliation, section

    if d.funnel is not None:
        body.append(f"<h2>From eligible to served: {esc(d.program_name)}</h2>")
        if d.evaluation_note:
            body.append(f"<p class='assumed'>The program's before/after is not evaluated: {esc(d.evaluation_note)}</p>")
        body.extend(section(d.funnel, d.gaps, d.funnel_erlang_c, d.team_unit, d.timezone,
                            shapes=area_shapes(d.city, d.funnel.area_layer), city=display_name(d.city)))
    if d.reconciliation is not None:
        body.append("<h2>What dispatch first knew, and what the calls turned out to be</h2>")
        body.extend(reconciliation(d.reconciliation, display_name(d.city)))

    body.append("<h2>Sources</h2><ol>" + "".join(f"<li>{s}</li>" for s in sources) + "</ol>")
    body.append(f"<p class='small'>Produced by divert (<code>divert report --city {esc(d.city)}</code>). Figures describe "
                "association, not cause; ranges are low and high readings of the stated sources, not confidence "
                "intervals.</p>")
    page = _page(f"{display_name(d.city)}: calls, police time and the alternatives", "\n".join(body))
    if fetches_anything(page):  # user text is neutralized by esc(): only a change to this template can do it
        raise RuntimeError("bug: the council page's template makes the page fetch something")
    return page
