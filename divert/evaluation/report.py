"""A self-contained HTML report of one evaluation: a plain-language summary a city council can
read, the charts (inline SVG: no file, font or script is fetched), the numbers, the placebo
check and the policy version that classified the calls.

>>> from divert.evaluation import evaluate
>>> from divert.evaluation._synthetic import synthetic_panel
>>> panel = synthetic_panel(effect=0.3, areas=5)
>>> est, placebo = evaluate(panel, "did", placebo_runs=4)
>>> info = ProgramInfo("Crisis team pilot", "example", "district", ("A",), ("crisis",), panel.start)
>>> html = render(EvaluationResult(info, "calls", "community calls, per day", "calls per day", est, placebo, ("synthetic-1",)))
>>> html.startswith("<!DOCTYPE html>"), "<svg" in html, fetches_anything(html), "synthetic-1" in html
(True, True, False, True)
"""

from __future__ import annotations

import html as _html
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

import pandas as pd

from divert.evaluation.compare import Comparison
from divert.evaluation.estimate import Estimate
from divert.evaluation.placebo import PlaceboResult


@cache
def pyplot():
    """matplotlib's pyplot on the Agg backend (no display), imported when a chart is first drawn:
    most importers of this module (labels, escaping) draw none, and pyplot takes most of a second."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@dataclass(frozen=True)
class ProgramInfo:
    name: str
    agency: str
    layer: str
    areas: tuple[str, ...]
    routes: tuple[str, ...]
    start: pd.Timestamp          # the first local day the program worked (no time zone)
    description: str | None = None


@dataclass(frozen=True)
class EvaluationResult:
    program: ProgramInfo
    outcome: str
    outcome_text: str        # plain words: "diversion-eligible calls still handled by police, per day"
    unit: str
    estimate: Estimate
    placebo: PlaceboResult
    policy_versions: tuple[str, ...]
    notes: tuple[str, ...] = ()
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    comparison: Comparison | None = None     # every method, the lead, boundary changes (compare.py)
    city_name: str | None = None             # display name; default: the agency slug, readable


# Characters of user text (a program's name, its areas, notes) that, left as they are, could make
# the text read as a fetch to a browser or to fetches_anything(): an attribute (src=, href=), a
# CSS url( or an @import. As character references they display the same and mean nothing.
_NEUTRAL = str.maketrans({"=": "&#61;", "(": "&#40;", ")": "&#41;", "@": "&#64;", "/": "&#47;", "\\": "&#92;",
                          ":": "&#58;"})


def esc(text: object) -> str:
    """User text as HTML text: markup escaped, and nothing in it can read as a URL to fetch.

    >>> esc('x src=//evil.example/a.png <b>')
    'x src&#61;&#47;&#47;evil.example&#47;a.png &lt;b&gt;'
    >>> fetches_anything(f"<p>{esc('a src=//b url(//c) @import')}</p>")
    False
    """
    return _html.escape(str(text), quote=True).translate(_NEUTRAL)


def _n(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


def display_name(slug: str) -> str:
    """A program's or city's slug as people write it.

    >>> display_name("north-crisis-team"), display_name("san_antonio"), display_name("Crisis Team")
    ('North crisis team', 'San Antonio', 'Crisis Team')
    """
    text = str(slug)
    if text != text.lower() or not re.search(r"[-_]", text) and " " in text:
        return text
    words = text.replace("_", " ").replace("-", " ").split()
    if "_" in text:  # a city slug: every word capitalised
        return " ".join(w.capitalize() for w in words)
    return " ".join(words).capitalize()


def area_name(area: str) -> str:
    """An area as people write it: 'NORTH' → 'North'; codes ('7210', 'SAT1') stay.

    >>> area_name("NORTH"), area_name("7210"), area_name("SAT1")
    ('North', '7210', 'SAT1')
    """
    return area.title() if area.isalpha() or (area.replace(" ", "").isalpha() and area.isupper()) else area


def _where(prog: ProgramInfo) -> str:
    return f"{', '.join(area_name(a) for a in prog.areas)} ({prog.layer})"


def _pct(x: float) -> str:
    return "no size of effect" if not (x == x and abs(x) != float("inf")) else f"{abs(x) * 100:,.0f}%"


def summary(r: EvaluationResult) -> list[str]:
    """The plain-language summary, one paragraph per item: boundary changes first, then the lead
    method and why it leads, the effect (unless withheld), the minimum detectable effect, the
    placebo check and pre-trend, the other methods, the policy version."""
    from divert.evaluation.placebo import MIN_RUNS, verdict

    e, p, prog, c = r.estimate, r.placebo, r.program, r.comparison
    title = display_name(prog.name)
    city = display_name(r.city_name or prog.agency)
    out: list[str] = []
    if c is not None and c.withheld:
        out.extend(b.describe(_where(prog), area_name) for b in c.breaks)
        out.append("No effect is reported across a boundary change. Evaluate the days after it "
                   f"(--since {c.breaks[-1].day:%Y-%m-%d}) or before it (--end {c.breaks[0].day:%Y-%m-%d}); "
                   f"or, if {title} is this change, name it (--intended-break {c.breaks[0].day:%Y-%m-%d}).")
    if c is not None:
        known = {m: run for m, run in c.runs.items() if len(run.placebo.runs) >= MIN_RUNS}
        why = (f"its placebo false-positive rate on {city}'s own data, {run_rate(c.placebo)}, is the closest of "
               f"the {len(known)} methods tried to the nominal 5%" if c.lead in known else
               f"no method had the {MIN_RUNS} placebo starts needed to show a false-positive rate, and it has "
               "the smallest minimum detectable effect")
        out.append(f"Lead method: {e.method_name} ({_explain(e.method)}), because {why}.")
    if c is None or not c.withheld:
        direction = "lower" if e.effect < 0 else "higher"
        out.append(
            f"After {title} started on {prog.start:%B %-d, %Y}, the {r.outcome_text} in {_where(prog)} "
            f"were {_n(abs(e.effect))} {direction} than expected ({_n(abs(e.relative) * 100, 0)}% {direction}): "
            f"{_n(e.observed[e.observed.index >= prog.start].mean())} a day on average, where "
            f"{_n(e.baseline)} a day would have been expected without the program.")
        source = e.details.get("interval from")
        out.append(
            f"Allowing for chance, the change is between {_n(e.ci_low)} and {_n(e.ci_high)} a day "
            f"(95% interval{', from ' + source if source else ''}), over {e.pre_days} days with data "
            f"before the start and {e.post_days} after.")
        out.append("This interval does not include zero: the change is larger than this city's ordinary "
                   "variation explains." if e.significant else
                   "This interval includes zero: the data cannot tell this change apart from this city's "
                   "ordinary variation.")
    mde = e.details.get("minimum detectable cut at 80% power (relative)")
    if mde is not None:
        if mde == mde and abs(mde) != float("inf"):
            out.append(f"Minimum detectable effect: with these areas and days, a cut of {_pct(mde)} "
                       f"(about {_n(abs(mde) * e.baseline)} a day) would be detected 4 times in 5 (80% power); "
                       "a smaller one could go unseen.")
        else:
            out.append("Minimum detectable effect: too few comparable areas and dates to detect any cut "
                       "reliably (the interval is unbounded).")
    if p.runs or c is not None:
        v = verdict(p)
        out.append(f"Check: we pretended the program had started on earlier dates, when it did not exist: {v.text}."
                   + ("" if v.trusted else " Read the result with caution."))
    if c is not None and c.pre_trend[0] == c.pre_trend[0]:
        slope, pv = c.pre_trend
        out.append(f"Pre-trend test: before the start, {_where(prog)} drifted {_n(slope * 100, 1)}% a year "
                   "against the other areas"
                   + (f" (permutation p = {pv:.2g}{': a real drift' if pv < 0.05 else ''})." if pv == pv else "."))
    if c is not None:
        others = [f"{run.estimate.method_name}: "
                  + ("" if c.withheld else f"{_n(run.estimate.effect)} a day ({_n(run.estimate.ci_low)} to "
                                           f"{_n(run.estimate.ci_high)}), ")
                  + f"placebo false positives {run_rate(run.placebo)}" for m, run in c.runs.items() if m != c.lead]
        others += [f"{m}: could not run ({why})" for m, why in c.failed.items()]
        if others:
            out.append("Other methods — " + "; ".join(others) + ".")
    out.append(f"Calls were classified by policy version {', '.join(r.policy_versions) or 'unknown'}.")
    if len(r.policy_versions) > 1:
        out.append("More than one policy version classified these calls: a change of policy can "
                   "look like a program effect. Re-classify the history with one version to compare.")
    return out


def run_rate(p: PlaceboResult) -> str:
    return f"{p.false_positives} of {len(p.runs)} ({p.false_positive_rate:.0%})" if p.runs else "no placebo runs"


def _explain(method: str) -> str:
    return {
        "its": "the trend and weekly pattern before the start, projected forward",
        "did": "how the other areas changed over the same days, applied to the program's areas",
        "wdd": "the change in the program's areas minus the change in the other areas",
        "sc": "a weighted combination of untreated areas that tracked the program's areas before the start",
    }.get(method, method)


def _svg(fig) -> str:
    buf = io.StringIO()
    # text drawn as glyph outlines: the chart's words (a program's name, its areas) never appear
    # as text in the page, and the comments matplotlib writes beside them are dropped
    plt = pyplot()
    with plt.rc_context({"svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return text[text.index("<svg"):]


def _plain(text: str) -> str:
    """User text for a chart label: a ``$`` is a dollar sign, never the start of a formula."""
    return text.replace("$", r"\$")


def with_gaps(series: pd.Series, max_gap_days: int = 40) -> pd.Series:
    """The series with a missing value inserted where no data exist for more than ``max_gap_days``
    (a month the city did not publish), so a line never joins across it.

    >>> s = pd.Series([1.0, 2.0, 3.0], index=pd.to_datetime(["2024-01-01", "2024-01-02", "2024-04-01"]))
    >>> int(with_gaps(s).isna().sum())
    1
    """
    s = series.sort_index()
    if len(s) < 2:
        return s
    idx = pd.DatetimeIndex(s.index)
    gaps = idx[1:][(idx[1:] - idx[:-1]).days > max_gap_days]
    if not len(gaps):
        return s
    holes = pd.Series(float("nan"), index=gaps - pd.Timedelta(days=1))
    return pd.concat([s, holes]).sort_index()


def _month_year():
    from matplotlib.dates import DateFormatter

    return DateFormatter("%b %Y")


def _series_chart(r: EvaluationResult) -> str:
    e, start = r.estimate, r.program.start
    fig, ax = pyplot().subplots(figsize=(10, 4.2), dpi=100)
    ax.plot(e.observed.index, e.observed.to_numpy(), "o", ms=3, color="#1f5fa8", alpha=0.75,
            label="program areas: observed per day")
    cf = with_gaps(e.counterfactual)
    fitted = "fitted before the start, projected after" if e.method == "sc" else "without the program"
    ax.plot(cf.index, cf.to_numpy(), "-", lw=1.6, color="#d9480f", label=f"expected ({fitted})")
    if e.control is not None:
        ax.plot(e.control.index, e.control.to_numpy(), ".", ms=2, color="#777777", alpha=0.5,
                label="other areas (scaled), per day")
    ax.axvline(start, color="black", ls="--", lw=1)
    ax.text(start, ax.get_ylim()[1], f" {_plain(display_name(r.program.name))} starts", va="top", fontsize=9)
    if r.comparison is not None:
        for b in r.comparison.breaks:
            ax.axvline(b.day, color="#c92a2a", ls=":", lw=1.5)
            ax.text(b.day, ax.get_ylim()[0], " boundary change", va="bottom", fontsize=8, color="#c92a2a")
    ax.set_ylabel(r.unit)
    ax.set_title(_plain(f"{r.outcome_text.capitalize()} — {', '.join(area_name(a) for a in r.program.areas)}"),
                 fontsize=11)
    ax.xaxis.set_major_formatter(_month_year())
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    return _svg(fig)


def _placebo_chart(r: EvaluationResult) -> str:
    p, e = r.placebo, r.estimate
    fig, ax = pyplot().subplots(figsize=(10, 3.2), dpi=100)
    for date, est in p.runs:
        color = "#c92a2a" if est.significant else "#868e96"
        ax.errorbar([date], [est.effect], yerr=[[max(est.effect - est.ci_low, 0)], [max(est.ci_high - est.effect, 0)]],
                    fmt="o", ms=4, color=color, capsize=2)
    if not (r.comparison is not None and r.comparison.withheld):
        ax.errorbar([r.program.start], [e.effect], yerr=[[max(e.effect - e.ci_low, 0)], [max(e.ci_high - e.effect, 0)]],
                    fmt="s", ms=6, color="#1f5fa8", capsize=3, label="real start")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel(f"estimated effect ({r.unit})")
    ax.set_title("Placebo starts (grey: no effect found, red: a false 'effect') and the real start (blue)",
                 fontsize=10)
    ax.xaxis.set_major_formatter(_month_year())
    ax.grid(alpha=0.3)
    return _svg(fig)


def _null_chart(r: EvaluationResult) -> str:
    """The placebo programs' relative effects (the interval's source) and the real estimate."""
    e, null = r.estimate, r.estimate.null
    scale = float(e.details.get("pre-period noise per day (relative)", 1.0))
    rel = null.studentized * scale * 100   # as large as they would be in the program's areas
    fig, ax = pyplot().subplots(figsize=(10, 2.8), dpi=100)
    ax.hist(rel, bins=min(30, max(8, len(rel) // 3)), color="#adb5bd", edgecolor="white")
    lo, hi = null.bounds()
    for b in (lo, hi):
        if b == b and abs(b) != float("inf"):
            ax.axvline(b * scale * 100, color="#495057", ls="--", lw=1)
    if not (r.comparison is not None and r.comparison.withheld):
        ax.axvline(e.relative * 100, color="#1f5fa8", lw=2.5, label="this program")
        ax.legend(fontsize=8)
    ax.set_xlabel("effect relative to expected, % (programs that never existed in this city, scaled to the "
                  "program areas' day-to-day noise)")
    ax.set_ylabel("placebo programs")
    ax.set_title(f"{len(rel)} placebo programs (untreated areas × start dates): their middle 95% (dashed) "
                 "sets the interval", fontsize=10)
    ax.grid(alpha=0.3)
    return _svg(fig)


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#212529;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #dee2e6}
.meta{color:#495057;font-size:.9rem}.summary{background:#f1f3f5;padding:1rem 1.2rem;border-radius:6px}
table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #dee2e6;padding:.3rem .6rem;text-align:left}
figure{margin:1rem 0}svg{max-width:100%;height:auto}.small{font-size:.85rem;color:#495057}
.withheld{border-left:6px solid #c92a2a}
"""


def render(r: EvaluationResult) -> str:
    e, prog, c = r.estimate, r.program, r.comparison
    withheld = c is not None and c.withheld
    title, city = display_name(prog.name), display_name(r.city_name or prog.agency)
    rows = []
    if withheld:
        rows.append(("Effect per day", "withheld: the days cross a boundary change"))
    else:
        rows += [
            ("Effect per day", f"{_n(e.effect, 2)} {esc(r.unit)}"),
            ("95% interval", f"{_n(e.ci_low, 2)} to {_n(e.ci_high, 2)}"),
            ("Relative to expected", f"{_n(e.relative * 100, 1)}%"),
            ("p-value", f"{e.p_value:.3g}"),
        ]
    rows += [
        ("Expected without the program", f"{_n(e.baseline, 2)} per day"),
        ("Days with data before / after", f"{e.pre_days} / {e.post_days}"),
        ("Placebo starts, false 'effects'",
         f"{len(r.placebo.runs)}, {r.placebo.false_positives} ({_n(r.placebo.false_positive_rate * 100, 0)}%)"
         if r.placebo.runs else "none (too few days before the start)"),
        ("Policy version", esc(", ".join(r.policy_versions) or "unknown")),
    ]
    for key, value in ({} if withheld else e.details).items():  # the details hold effects too
        if isinstance(value, dict):
            value = ", ".join(f"{area_name(str(k))} {v:.2f}" for k, v in value.items()) or "none"
        elif isinstance(value, tuple):
            value = " to ".join(_n(v, 2) for v in value)
        elif isinstance(value, float):
            value = _n(value, 3)
        rows.append((esc(str(key)), esc(str(value))))
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    methods = ""
    if c is not None:
        mrows = "".join(
            f"<tr><td>{esc(run.estimate.method_name)}{' (lead)' if m == c.lead else ''}</td>"
            f"<td>{esc(run_rate(run.placebo))}</td><td>{_pct(run.mde)}</td>"
            + ("<td>withheld</td><td>—</td>" if withheld else
               f"<td>{_n(run.estimate.effect, 2)}</td><td>{_n(run.estimate.ci_low, 2)} to {_n(run.estimate.ci_high, 2)}</td>")
            + "</tr>" for m, run in c.runs.items())
        methods = ("<h2>Methods compared</h2><table><tr><th>method</th><th>placebo starts: false 'effects'</th>"
                   "<th>minimum detectable cut (80% power)</th><th>effect per day</th><th>95% interval</th></tr>"
                   f"{mrows}</table><p class='small'>Every interval comes from randomisation over this city's "
                   "untreated areas and start dates (placebo programs), never from a normal approximation. The lead "
                   "is the method whose placebo false-positive rate is closest to 5% (when no method has 10 placebo "
                   "starts, the one with the smallest minimum detectable cut).</p>")
    paragraphs = "".join(f"<p>{esc(t)}</p>" for t in summary(r))
    notes = "".join(f"<li>{esc(n)}</li>" for n in r.notes)
    null_fig = (f"<figure>{_null_chart(r)}<figcaption class='small'>The interval is this program's estimate "
                "minus the middle 95% of these effects of programs that never existed.</figcaption></figure>"
                if e.null is not None and len(e.null) else "")
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{esc(title)}, {esc(city)}: {esc(e.method_name)} of {esc(r.outcome)}</title>
<style>{_CSS}</style></head><body>
<h1>{esc(title)}, {esc(city)}: what changed?</h1>
<p class="meta">{esc(city)} · {esc(prog.layer)}: {esc(', '.join(area_name(a) for a in prog.areas))} · routes {esc(', '.join(prog.routes) or '—')}
 · started {prog.start:%Y-%m-%d} · outcome <code>{esc(r.outcome)}</code> · lead method {esc(e.method_name)}
 · policy version {esc(', '.join(r.policy_versions) or 'unknown')} · generated {r.generated_at:%Y-%m-%d %H:%M} UTC</p>
<div class="summary{' withheld' if withheld else ''}"><h2 style="border:0;margin-top:0">In plain words</h2>{paragraphs}</div>
<h2>Before and after</h2>
<figure>{_series_chart(r)}<figcaption class="small">Each dot is one day with data; the line breaks where the city
published no data for over a month. Cities that publish only some days of each month are compared per day with
data, never per month.</figcaption></figure>
{methods}
<h2>Placebo check</h2>
<figure>{_placebo_chart(r) if r.placebo.runs else '<p>Too few days before the start for placebo runs.</p>'}</figure>
{null_fig}
<h2>The numbers ({esc(e.method_name)})</h2><table>{table}</table>
{f'<h2>Notes on the data</h2><ul>{notes}</ul>' if notes else ''}
<p class="small">Produced by divert (<code>divert evaluate --program {esc(prog.name)} --outcome {esc(r.outcome)}</code>).
 Estimates describe association around the start date; other changes at the same time in the same areas would
 show up here too.</p>
</body></html>
"""
    if fetches_anything(html):  # user text is neutralized by esc(): only a change to this template can do it
        raise RuntimeError("bug: the evaluation report's template makes the page fetch something")
    return html


def fetches_anything(html: str) -> bool:
    """Whether a page would load anything from elsewhere (namespace URIs are names, not fetches).

    >>> fetches_anything('<img src="https://x/y.png">'), fetches_anything('<svg xmlns="http://www.w3.org/2000/svg">')
    (True, False)
    """
    return bool(re.search(r"""(\b(src|href|action|data)\s*=\s*["']?\s*(https?:)?//)|url\(\s*["']?(https?:)?//|@import""",
                          html, re.I))
