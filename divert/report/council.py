"""Render the council report: one self-contained HTML page (inline SVG charts, no script, nothing
fetched), plain words first, every number with its source and the policy version.

>>> from divert.evaluation.report import fetches_anything
>>> fetches_anything(_page("t", "<p>x</p>"))
False
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from divert.costs.table import STAGE_TEXT, money  # noqa: E402
from divert.evaluation.report import _CSS, _svg, esc, fetches_anything  # noqa: E402
from divert.report.data import CouncilData  # noqa: E402

ROUTE_COLOURS = {"crisis": "#d9480f", "navigator": "#2b8a3e", "co_response": "#ae3ec9", "police": "#1f5fa8",
                 "officer_initiated": "#495057", "ems_fire": "#e8590c", "admin": "#adb5bd"}
KIND_COLOURS = {"both": "#c92a2a", "policing": "#1f5fa8", "crime": "#f08c00", None: "#adb5bd"}


def _demand_chart(d: CouncilData) -> str:
    pivot = d.demand.pivot_table(index="route", columns="source", values="calls", aggfunc="sum", fill_value=0)
    pivot = pivot.loc[pivot.sum(axis=1).sort_values().index]
    fig, ax = plt.subplots(figsize=(10, 3.6), dpi=100)
    left = None
    palette = ["#1f5fa8", "#74c0fc", "#495057", "#f08c00", "#adb5bd"]
    for i, source in enumerate(pivot.columns):
        ax.barh(pivot.index, pivot[source], left=left, color=palette[i % len(palette)], label=source)
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
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), dpi=100)
    for ax, what, unit in ((axes[0], "hours", "police unit-hours"), (axes[1], "cost", "police cost, $")):
        vals = [getattr(x, what) for x in lines]
        ax.bar(labels, [v.central for v in vals], color=["#1f5fa8", "#74c0fc", "#2b8a3e"],
               yerr=[[v.central - v.low for v in vals], [v.high - v.central for v in vals]], capsize=5)
        ax.set_title(f"{unit} (central; bars: low–high)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.tick_params(axis="x", labelsize=8)
    return _svg(fig)


def _burden_map(d: CouncilData) -> str:
    placed = [b for b in d.burden if b.lat is not None]
    if not placed:
        return ""
    fig, ax = plt.subplots(figsize=(7, 6), dpi=100)
    biggest = max(b.enforcement for b in placed) or 1
    for kind in ("both", "policing", "crime", None):
        pts = [b for b in placed if b.kind == kind]
        if pts:
            ax.scatter([b.lon for b in pts], [b.lat for b in pts], s=[30 + 400 * b.enforcement / biggest for b in pts],
                       color=KIND_COLOURS[kind], alpha=0.75, edgecolor="black", linewidth=0.4,
                       label={"both": "crime and policing", "policing": "policing untethered to crime",
                              "crime": "crime", None: "neither"}[kind])
    for b in placed:
        ax.annotate(b.area, (b.lon, b.lat), fontsize=7, ha="center", va="center")
    for layer in d.surveys:  # survey layers, when divert.surveys provides them: ringed by score
        vals = getattr(layer, "values", {}) or {}
        pts = [b for b in placed if b.area in vals]
        if pts:
            ax.scatter([b.lon for b in pts], [b.lat for b in pts], s=600, facecolors="none",
                       edgecolors=plt.cm.viridis([float(vals[b.area]) for b in pts]), linewidth=1.5,
                       label=f"survey: {getattr(layer, 'name', 'survey')}")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect(1 / max(0.2, math.cos(math.radians(placed[0].lat))), adjustable="datalim")
    ax.set_title(f"Burden by {d.layer}: each area at the mean point of its calls; size = enforcement", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.2)
    return _svg(fig)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _rng(r, fmt=money) -> str:
    return f"{fmt(r.central)} <span class='small'>({fmt(r.low)}–{fmt(r.high)})</span>"


def _h(x: float) -> str:
    return f"{x:,.0f} h"


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
    policy = ", ".join(d.policy_versions) or "unknown"
    community = d.demand[d.demand["source"] != "officer_initiated"]
    n_comm = int(community["calls"].sum())
    elig_i, elig = int(community["eligible_initial"].sum()), int(community["eligible"].sum())
    all_line, e_line = c.stage_line("all"), c.stage_line("eligible")
    uh = m.police_unit_hour
    assumed_share = all_line.assumed_calls / all_line.calls if all_line.calls else 0
    src_n = {"demand": 1, "rate": 2, "minutes": 3, "alt": 4, "burden": 5}
    sources = [
        f"Calls: the stored, classified calls of {esc(d.city)} ({c.calls:,} calls, {c.days_with_data:,} days with data, "
        f"{d.start:%Y-%m-%d} – {d.end:%Y-%m-%d}), classified by policy {esc(policy)}.",
        f"Police unit-hour rate, FY{uh.year} ({uh.method}): {esc(uh.source)}.",
        f"On-scene minutes{' (ASSUMED)' if m.on_scene.assumption else ''}: {esc(m.on_scene.source)} ({m.on_scene.year}); "
        f"reference/costs/{esc(m.on_scene.file)}.",
        "Alternative responders: " + "; ".join(f"{esc(a.name)} — {esc(a.source)}{' [assumption]' if a.assumption else ''}"
                                               for a in m.alternatives.values()) + ".",
        f"Burden: divert/burden.py over area_divergence (migration 003): officer-initiated events vs stored crime "
        f"reports by {esc(d.layer or '—')}.",
    ]

    def ref(key: str) -> str:
        return f"<sup>[{src_n[key]}]</sup>"

    words = [
        f"Between {d.start:%B %-d, %Y} and {d.end:%B %-d, %Y} {esc(d.city)} stored {c.calls:,} calls; {n_comm:,} came "
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
    for a in (x for x in c.alternatives if x.stage == "eligible"):
        words.append(
            f"To take the {a.calls:,} {esc(a.route)} calls with {esc(a.alternative.name.lower())}, reaching "
            f"{a.alternative.target_share:.0%} of them within {a.alternative.target_minutes:g} minutes, "
            f"{a.team_hours_per_week:,} team-hours a week would be on duty (Erlang C), costing about "
            f"{money(a.cost.central)} ({money(a.cost.low)}–{money(a.cost.high)}) over the same days, against "
            f"{money(a.police_cost_freed.central)} of police time.{ref('alt')}")
    words.append(f"Calls were classified by policy version {esc(policy)}; costs use model {esc(m.version)}.")

    body = [f"<h1>{esc(d.city)}: calls for service, police time and the alternatives</h1>",
            f"<p class='meta'>{d.start:%Y-%m-%d} – {d.end:%Y-%m-%d} ({esc(d.timezone)}) · policy version {esc(policy)} · "
            f"cost model {esc(m.version)} · generated {generated_at:%Y-%m-%d %H:%M} UTC</p>",
            "<div class='summary'><h2 style='border:0;margin-top:0'>In plain words</h2>"
            + "".join(f"<p>{w}</p>" for w in words) + "</div>"]

    # demand
    body.append(f"<h2>Demand by route and source{ref('demand')}</h2><figure>{_demand_chart(d)}</figure>")
    piv = d.demand.groupby("route")[["calls", "eligible_initial", "eligible"]].sum().sort_values("calls", ascending=False)
    body.append(_table(["route", "calls", "eligible (initial type)", "eligible (after disqualifiers)", "policy version"],
                       [[esc(r), f"{int(v.calls):,}", f"{int(v.eligible_initial):,}", f"{int(v.eligible):,}", esc(policy)]
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
                         _rng(line.hours, _h), _rng(line.cost), basis, esc(", ".join(sorted(line.policy_versions)))])
    body.append(_table(["calls", "route", "calls", "police unit-hours", "police cost", "on-scene time", "policy version"], rows))
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
    if c.alternatives:
        body.append(_table(
            ["eligible", "route", "responder", "calls", "team-hours a week", "alternative cost", "police cost freed",
             "police hours freed"],
            [[esc(a.stage.replace("_", " ")), esc(a.route), esc(a.alternative.name), f"{a.calls:,}",
              f"{a.team_hours_per_week:,}", _rng(a.cost), _rng(a.police_cost_freed), _rng(a.police_hours_freed, _h)]
             for a in c.alternatives]))
        body.append("<ul>" + "".join(f"<li>{esc(a.name)}: {esc(a.derivation)}; {a.service_minutes:g} min a call"
                                     f"{' (assumed)' if a.service_assumption else ''}, target {a.target_share:.0%} within "
                                     f"{a.target_minutes:g} min</li>" for a in m.alternatives.values()) + "</ul>")
    else:
        body.append("<p>The cost model prices no alternative responder.</p>")
    if d.team:
        body.append(f"<h3>What a team of the proposed size would absorb ({d.team[0].teams} teams on duty at all hours)</h3>")
        body.append(_table(
            ["route", "eligible calls a week", "answered within target a week", "share", "police hours freed a week",
             "police cost freed a week", "team cost a week"],
            [[esc(t.route), f"{t.calls_per_week:,.1f}", f"{t.answered_in_target_per_week:,.1f}", f"{t.share_in_target:.0%}",
              f"{t.police_hours_freed_per_week:,.1f}", money(t.police_cost_freed_per_week), money(t.team_cost_per_week)]
             for t in d.team]))
        body.append("<p class='small'>Erlang C (divert/staffing.py): the share of calls a team reaches within the target "
                    "when that many teams are on duty, hour by hour of the week; the calls beyond stay with police.</p>")

    # burden
    body.append(f"<h2>Where policing and reported crime diverge{ref('burden')}</h2>")
    bmap = _burden_map(d)
    if bmap:
        body.append(f"<figure>{bmap}</figure>")
    if d.dissimilarity is not None:
        body.append(f"<p>Dissimilarity index D = {d.dissimilarity:.3f}: the share of officer-initiated events that "
                    f"would have to move between {esc(d.layer)}s to match where crime is reported.</p>")
    if d.burden:
        body.append("<ul>" + "".join(f"<li>{esc(b.sentence)}</li>" for b in d.burden[:8]) + "</ul>")
    if d.burden_note:
        body.append(f"<p>{esc(d.burden_note)}</p>")
    body.append(f"<p class='small'>Survey layers: {esc(d.survey_note) if d.survey_note else ', '.join(esc(getattr(s, 'name', 'survey')) + ' (' + esc(getattr(s, 'source', '')) + ')' for s in d.surveys)}</p>")

    # evaluation
    if d.evaluation is not None:
        from divert.evaluation.report import _series_chart, summary

        ev = d.evaluation
        body.append(f"<h2>Evaluation: {esc(ev.program.name)}</h2>")
        body.append("".join(f"<p>{esc(t)}</p>" for t in summary(ev)))
        body.append(f"<figure>{_series_chart(ev)}</figure>")

    body.append("<h2>Sources</h2><ol>" + "".join(f"<li>{s}</li>" for s in sources) + "</ol>")
    body.append(f"<p class='small'>Produced by divert (<code>divert report --city {esc(d.city)}</code>). Figures describe "
                "association, not cause; ranges are low and high readings of the stated sources, not confidence "
                "intervals.</p>")
    page = _page(f"{d.city}: calls, police time and the alternatives", "\n".join(body))
    if fetches_anything(page):  # user text is neutralized by esc(): only a change to this template can do it
        raise RuntimeError("bug: the council page's template makes the page fetch something")
    return page
