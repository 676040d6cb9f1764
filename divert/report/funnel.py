"""The council page's funnel section: a program's stages with the reason for every drop, the
simulation beside Erlang C, the coverage gaps as heat grids (hour of week × gap, area × gap; inline
SVG and HTML, nothing fetched) and the initial → final type reconciliation.

>>> from divert.funnel import Gaps
>>> g = Gaps(10, {7: 4}, {"EAST": 10}, {"outside hours": {7: 2}, "outside areas": {}, "every team busy": {8: 1}},
...          {"outside hours": {"EAST": 2}, "outside areas": {}, "every team busy": {"EAST": 1}}, 0)
>>> svg = hour_grid(g, "America/Chicago")
>>> svg.count("<rect class='cell'"), "Mon 07:00" in svg
(504, True)
"""

from __future__ import annotations

from divert.evaluation.report import esc
from divert.labels import area_name, route_name, week_hours

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EMPTY = "#f8f9fa"
# sequential, ColorBrewer OrRd: more calls missed, darker
_RAMP = ["#fef0d9", "#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"]


def heat(n: int, most: int) -> str:
    """The colour of ``n`` calls on a scale up to ``most`` (square root, so a few calls still show)."""
    if not n or not most:
        return EMPTY
    return _RAMP[min(len(_RAMP) - 1, int((n / most) ** 0.5 * len(_RAMP)))]


def hour_grid(gaps, timezone: str) -> str:
    """One grid per gap: rows the days, columns the hours (local), a cell shaded by the calls missed."""
    cell, left, top, gap_h = 22, 44, 34, 40
    kinds = list(gaps.by_hour)
    most = max((n for hours in gaps.by_hour.values() for n in hours.values()), default=0)
    height = len(kinds) * (top + 7 * cell + gap_h) + 30
    width = left + 24 * cell + 10
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' class='gaps' viewBox='0 0 {width} {height}' "
             f"width='{width}' height='{height}' role='img' aria-label='coverage gaps by hour of week'>",
             "<style>text{font:11px system-ui,sans-serif;fill:#495057}.t{font-weight:600;fill:#212529}</style>"]
    y0 = 0
    for kind in kinds:
        hours = gaps.by_hour[kind]
        total = sum(hours.values())
        parts.append(f"<text class='t' x='0' y='{y0 + 16}'>{esc(kind)}: {total:,} eligible calls "
                     f"(local time, {esc(timezone)})</text>")
        for h in range(0, 24, 3):
            parts.append(f"<text x='{left + h * cell + 2}' y='{y0 + top - 4}'>{h:02d}h</text>")
        for d, day in enumerate(DAYS):
            y = y0 + top + d * cell
            parts.append(f"<text x='0' y='{y + 15}'>{day}</text>")
            for h in range(24):
                n = hours.get(d * 24 + h, 0)
                parts.append(f"<rect class='cell' x='{left + h * cell}' y='{y}' width='{cell - 2}' height='{cell - 2}' "
                             f"fill='{heat(n, most)}'><title>{day} {h:02d}:00: {n:,} calls {esc(kind)}"
                             "</title></rect>")
        y0 += top + 7 * cell + gap_h
    # the legend
    steps = sorted({max(1, round(most * (i / len(_RAMP)) ** 2)) for i in range(1, len(_RAMP) + 1)}) if most else []
    x = left
    parts.append(f"<text x='0' y='{y0 + 4}'>calls</text>")
    for n in steps:
        parts.append(f"<rect x='{x}' y='{y0 - 8}' width='14' height='14' fill='{heat(n, most)}'/>"
                     f"<text x='{x + 18}' y='{y0 + 4}'>{n:,}</text>")
        x += 60
    parts.append("</svg>")
    return "".join(parts)


def area_table(gaps, layer: str | None, top: int = 25) -> str:
    """Areas × gaps as an HTML table whose cells are shaded like the grid."""
    kinds = list(gaps.by_area)
    most = max((n for areas in gaps.by_area.values() for n in areas.values()), default=0)
    areas = sorted(gaps.eligible_by_area, key=lambda a: (-sum(gaps.by_area[k].get(a, 0) for k in kinds), a))
    head = "".join(f"<th>{esc(h)}</th>" for h in [layer or "area", "eligible calls", *kinds])
    rows = []
    for a in areas[:top]:
        cells = "".join(f"<td style='background:{heat(gaps.by_area[k].get(a, 0), most)}"
                        f"{';color:#fff' if heat(gaps.by_area[k].get(a, 0), most) in _RAMP[-2:] else ''}'>"
                        f"{gaps.by_area[k].get(a, 0):,}</td>" for k in kinds)
        rows.append(f"<tr><td>{esc(area_name(a))}</td><td>{gaps.eligible_by_area[a]:,}</td>{cells}</tr>")
    more = (f"<p class='small'>{len(areas) - top} more {esc(layer or 'area')}s not shown.</p>"
            if len(areas) > top else "")
    return f"<table class='gaps'><tr>{head}</tr>{''.join(rows)}</table>{more}"


def gap_maps(gaps, shapes, layer: str, *, width: int = 300, max_height: int = 420) -> str:
    """One map per gap, side by side: each area of the city's boundary file shaded by the eligible
    calls it missed that way (one scale for the three, as the grid's), grey where no eligible call
    arose; the tooltip gives the area's count of its eligible calls."""
    from divert.report.map import NO_VALUE, area_paths

    kinds = list(gaps.by_area)
    most = max((n for areas in gaps.by_area.values() for n in areas.values()), default=0)
    out = []
    for kind in kinds:
        missed = gaps.by_area[kind]
        fills, notes = {}, {}
        for area, _ in shapes:
            eligible = gaps.eligible_by_area.get(area, 0)
            n = missed.get(area, 0)
            fills[area] = heat(n, most) if eligible else NO_VALUE
            notes[area] = (f"{area_name(area)}: {n:,} of {eligible:,} eligible calls missed ({kind})" if eligible
                           else f"{area_name(area)}: no eligible calls")
        elements, height = area_paths(shapes, fills, notes, width=width, max_height=max_height,
                                      css_class="gap-area", top=30)
        mapped = sum(missed.get(a, 0) for a, _ in shapes)
        title = (f"<text class='t' x='10' y='18'>{esc(kind)}: {mapped:,} eligible calls "
                 f"(by {esc(layer)})</text>")
        legend_y = height + 24
        steps = sorted({max(1, round(most * (i / len(_RAMP)) ** 2)) for i in range(1, len(_RAMP) + 1)}) if most else []
        keys = [f"<rect x='{10 + 56 * i}' y='{legend_y}' width='14' height='14' fill='{heat(n, most)}' "
                f"stroke='#868e96'/><text x='{28 + 56 * i}' y='{legend_y + 12}'>{n:,}</text>"
                for i, n in enumerate(steps)]
        keys.append(f"<rect x='10' y='{legend_y + 22}' width='14' height='14' fill='{NO_VALUE}' stroke='#868e96'/>"
                    f"<text x='28' y='{legend_y + 34}'>no eligible calls</text>")
        total = legend_y + 44
        out.append(f"<svg xmlns='http://www.w3.org/2000/svg' class='gap-map' viewBox='0 0 {width} {total}' "
                   f"width='{width}' height='{total}' role='img' aria-label='eligible calls {esc(kind)} by "
                   f"{esc(layer)}'><style>text{{font:11px system-ui,sans-serif;fill:#495057}}"
                   f".t{{font-weight:600;fill:#212529}}</style>{title}{''.join(elements)}{''.join(keys)}</svg>")
    return f"<figure style='display:flex;flex-wrap:wrap;gap:8px'>{''.join(out)}</figure>"


def gaps_on_the_map(gaps, shapes, layer: str | None, city: str) -> str:
    """The gap maps where the city has a boundary file for the funnel's layer; else a sentence
    saying there is none (the table below lists the areas)."""
    if not layer:
        return ("<p>The program's calls carry no area layer, so the coverage gaps cannot be placed on a map.</p>")
    if not shapes:
        return (f"<p>No boundary file of {esc(city)}'s {esc(layer)}s is available, so the coverage gaps are "
                f"listed by {esc(layer)} below rather than mapped.</p>")
    known = {a for a, _ in shapes}
    unmapped = sorted(a for a in gaps.eligible_by_area if a not in known)
    out = (f"<p>Where they arise: darker {esc(layer)}s missed more eligible calls; grey ones had none. Hover over a "
           f"{esc(layer)} for its figures.</p>" + gap_maps(gaps, shapes, layer))
    if unmapped:
        left = sum(gaps.eligible_by_area[a] for a in unmapped)
        out += (f"<p class='small'>Not on the map ({left:,} eligible calls; no boundary in the file, e.g. a newer "
                f"{esc(layer)} code or none recorded): {esc(', '.join(area_name(a) for a in unmapped))}.</p>")
    return out


def section(f, gaps, erlang_share: float | None, team_unit: str, timezone: str, *, shapes=None,
            city: str = "the city") -> list[str]:
    """The funnel, the simulation and the coverage gaps of one program, as HTML blocks; ``shapes``:
    the city's boundaries for the funnel's area layer (divert.report.map.area_shapes), None if none."""
    p, out = f.program, []
    where = "; ".join(f"{esc(layer)} {esc(', '.join(area_name(a) for a in sorted(v)))}"
                      for layer, v in (p.availability.areas or {}).items()) or "the whole city"
    teams = set(p.schedule().values())
    n = teams.pop() if len(teams) == 1 else None
    roster = "a roster that varies by hour" if n is None else f"{n} {'team' if n == 1 else 'teams'}"
    out.append(f"<p>The program as simulated: a {esc(route_name(p.route))} serving {where}, "
               f"{esc(week_hours(p.availability.hours))} ({esc(timezone)}), with {roster} on duty "
               f"({esc(team_unit)}); the target is {p.target_share:.0%} of calls started within "
               f"{p.target_minutes:g} minutes.</p>")
    community = f.stages[0].count or 0
    rows, previous = [], f.records
    for s in f.stages:
        left = previous - s.count if s.count is not None else 0
        reasons = "; ".join(f"{esc(r)}: {k:,}" for r, k in list(s.dropped.items())[:6])
        if len(s.dropped) > 6:
            reasons += f"; {len(s.dropped) - 6} other reasons: {sum(list(s.dropped.values())[6:]):,}"
        count = "not measured" if s.count is None else f"{s.count:,}"
        share = "" if s.count is None or not community else f"{s.count / community:.1%}"
        basis = s.basis if s.basis != "not measured" else ""
        rows.append(f"<tr><td>{esc(s.name)}</td><td>{count}</td><td>{share}</td><td>{esc(basis)}</td>"
                    f"<td>{f'{left:,}' if left else ''}</td><td class='small'>{reasons}</td></tr>")
        previous = s.count if s.count is not None else previous
    out.append("<table><tr><th>stage</th><th>calls</th><th>of community calls</th><th>how known</th>"
               f"<th>left here</th><th>why they left</th></tr>{''.join(rows)}</table>")
    sim = f.simulation
    if sim is not None:
        o = sim.overall
        ec = "not comparable (the roster varies by hour)" if erlang_share is None else f"{erlang_share:.0%}"
        out.append(f"<p>Simulated on the city's real arrival times ({sim.observed_days:,} days with calls timed to the "
                   f"second): {o.share_within_target:.0%} of the {o.calls:,} calls in the program's hours and areas "
                   f"would have been started within {sim.target_minutes:g} minutes; {o.lost:,} would have gone to "
                   f"police because every team was busy; the teams would have been busy {o.utilisation:.0%} of "
                   f"their hours. Erlang C, given the same calls per hour and minutes per call, predicts {ec} "
                   "within the target: it assumes calls arrive evenly at random, where real calls cluster.</p>")
        if sim.assumed_service:
            out.append(f"<p class='assumed'>Minutes per call are assumed for {sim.assumed_service:,} of {o.calls:,} "
                       f"calls: {esc(sim.assumed_source)}.</p>")
    for note in f.notes:
        if "service minutes assumed" not in note:
            out.append(f"<p class='small'>{esc(note)}</p>")
    if gaps is not None and gaps.eligible:
        totals = ", ".join(f"{esc(k)} {gaps.total(k):,} ({gaps.total(k) / gaps.eligible:.0%})" for k in gaps.by_area)
        out.append(f"<h3>Coverage gaps: eligible calls the program would miss</h3><p>Of the {gaps.eligible:,} "
                   f"calls eligible after the disqualifiers: {totals}. Darker cells: more calls missed"
                   + (f"; {gaps.day_only:,} calls known only by their date are in no hour" if gaps.day_only else "")
                   + ".</p>")
        out.append(f"<figure>{hour_grid(gaps, timezone)}</figure>")
        out.append(gaps_on_the_map(gaps, shapes, f.area_layer, city))
        out.append(area_table(gaps, f.area_layer))
    return out


def reconciliation(r, city: str) -> list[str]:
    """The initial → final type table, both directions."""
    if r is None:
        return []
    if not r.with_final:
        return [f"<p>{esc(city)}'s data records no final call type, so what dispatch first knew cannot be set beside "
                "what the calls turned out to be.</p>"]
    out = [f"<p>Eligibility is decided on what dispatch first knew (the initial call type). Of the "
           f"{r.eligible_with_final:,} eligible calls whose final type was recorded, {r.eligible_crossed:,} "
           f"({r.eligible_crossed / max(r.eligible_with_final, 1):.0%}) ended as a type the policy would not send a "
           f"civilian to; of the other community calls, {r.other_crossed:,} ended as a type it would. "
           "The eligible counts are an upper bound.</p>"]

    def table(rows, title: str) -> str:
        body = "".join(
            f"<tr><td>{esc(t.code or 'not mapped')}</td><td>{t.calls:,}</td><td>{t.with_final:,}</td>"
            f"<td>{t.crossed:,}{f' ({t.share:.0%})' if t.share is not None else ''}</td>"
            f"<td class='small'>{esc(', '.join(f'{c} {n:,}' for c, n in list(t.ended_as.items())[:3]))}</td></tr>"
            for t in rows[:12])
        return (f"<table><tr><th>initial type (APCO)</th><th>calls</th><th>with a final type</th><th>{esc(title)}</th>"
                f"<th>ended as</th></tr>{body}</table>")

    out.append(table(r.eligible_to_other, "ended as a type kept with police, EMS or co-response"))
    if r.other_to_eligible:
        out.append("<p>The reverse: calls kept with police on their initial type that ended as a type the policy "
                   "sends a civilian to.</p>")
        out.append(table(r.other_to_eligible, "ended as a civilian type"))
    return out
