"""A self-contained HTML report of one evaluation: a plain-language summary a city council can
read, the charts (inline SVG: no file, font or script is fetched), the numbers, the placebo
check and the policy version that classified the calls.

>>> from divert.evaluation import evaluate
>>> from divert.evaluation._synthetic import synthetic_panel
>>> panel = synthetic_panel(effect=0.3)
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

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from divert.evaluation.estimate import Estimate  # noqa: E402
from divert.evaluation.placebo import PlaceboResult  # noqa: E402


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


def summary(r: EvaluationResult) -> list[str]:
    """The plain-language summary, one paragraph per item."""
    e, p, prog = r.estimate, r.placebo, r.program
    where = f"{', '.join(prog.areas)} ({prog.layer})"
    direction = "lower" if e.effect < 0 else "higher"
    pct = abs(e.relative) * 100
    out = [
        f"After {prog.name} started on {prog.start:%B %-d, %Y}, the {r.outcome_text} in {where} "
        f"were {_n(abs(e.effect))} {direction} than expected ({_n(pct, 0)}% {direction}): "
        f"{_n(e.observed[e.observed.index >= prog.start].mean())} a day on average, where "
        f"{_n(e.baseline)} a day would have been expected without the program.",
        f"The expectation comes from {e.method_name} ({_explain(e.method)}). "
        f"Allowing for chance, the change is between {_n(e.ci_low)} and {_n(e.ci_high)} a day "
        f"(95% confidence interval), over {e.pre_days} days with data before the start and "
        f"{e.post_days} after."]
    if e.significant:
        out.append("This interval does not include zero: the change is larger than day-to-day "
                   "variation alone would explain.")
    else:
        out.append("This interval includes zero: the data cannot tell this change apart from "
                   "ordinary day-to-day variation.")
    if p.runs:
        rate = p.false_positive_rate * 100
        verdict = ("close to the 5% a sound method should show, so the interval can be trusted"
                   if rate <= 10 else
                   "more than the 5% a sound method should show: the interval is too narrow for "
                   "this data and the result should be read with caution")
        out.append(
            f"Check: we pretended the program had started on {len(p.runs)} earlier dates, when it "
            f"did not exist. The method 'found' an effect {p.false_positives} times ({_n(rate, 0)}%), "
            f"{verdict}.")
    out.append(f"Calls were classified by policy version {', '.join(r.policy_versions) or 'unknown'}.")
    if len(r.policy_versions) > 1:
        out.append("More than one policy version classified these calls: a change of policy can "
                   "look like a program effect. Re-classify the history with one version to compare.")
    return out


def _explain(method: str) -> str:
    return {
        "its": "the trend and weekly pattern before the start, projected forward",
        "did": "how the other areas changed over the same days, applied to the program's areas",
        "wdd": "the change in the program's areas minus the change in the other areas, "
               "with Ratcliffe's variance for counts",
    }.get(method, method)


def _svg(fig) -> str:
    buf = io.StringIO()
    # text drawn as glyph outlines: the chart's words (a program's name, its areas) never appear
    # as text in the page, and the comments matplotlib writes beside them are dropped
    with matplotlib.rc_context({"svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return text[text.index("<svg"):]


def _plain(text: str) -> str:
    """User text for a chart label: a ``$`` is a dollar sign, never the start of a formula."""
    return text.replace("$", r"\$")


def _series_chart(r: EvaluationResult) -> str:
    e, start = r.estimate, r.program.start
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=100)
    ax.plot(e.observed.index, e.observed.to_numpy(), "o", ms=3, color="#1f5fa8", alpha=0.75,
            label="program areas: observed per day")
    ax.plot(e.counterfactual.index, e.counterfactual.to_numpy(), "-", lw=1.6, color="#d9480f",
            label="expected without the program")
    if e.control is not None:
        ax.plot(e.control.index, e.control.to_numpy(), ".", ms=2, color="#777777", alpha=0.5,
                label="other areas (scaled), per day")
    ax.axvline(start, color="black", ls="--", lw=1)
    ax.text(start, ax.get_ylim()[1], f" {_plain(r.program.name)} starts", va="top", fontsize=9)
    ax.set_ylabel(r.unit)
    ax.set_title(_plain(f"{r.outcome_text.capitalize()} — {', '.join(r.program.areas)}"), fontsize=11)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    return _svg(fig)


def _placebo_chart(r: EvaluationResult) -> str:
    p, e = r.placebo, r.estimate
    fig, ax = plt.subplots(figsize=(10, 3.2), dpi=100)
    for date, est in p.runs:
        color = "#c92a2a" if est.significant else "#868e96"
        ax.errorbar([date], [est.effect], yerr=[[est.effect - est.ci_low], [est.ci_high - est.effect]],
                    fmt="o", ms=4, color=color, capsize=2)
    ax.errorbar([r.program.start], [e.effect], yerr=[[e.effect - e.ci_low], [e.ci_high - e.effect]],
                fmt="s", ms=6, color="#1f5fa8", capsize=3, label="real start")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel(f"estimated effect ({r.unit})")
    ax.set_title("Placebo starts (grey: no effect found, red: a false 'effect') and the real start (blue)",
                 fontsize=10)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    ax.grid(alpha=0.3)
    return _svg(fig)


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#212529;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #dee2e6}
.meta{color:#495057;font-size:.9rem}.summary{background:#f1f3f5;padding:1rem 1.2rem;border-radius:6px}
table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #dee2e6;padding:.3rem .6rem;text-align:left}
figure{margin:1rem 0}svg{max-width:100%;height:auto}.small{font-size:.85rem;color:#495057}
"""


def render(r: EvaluationResult) -> str:
    e, prog = r.estimate, r.program
    rows = [
        ("Effect per day", f"{_n(e.effect, 2)} {esc(r.unit)}"),
        ("95% confidence interval", f"{_n(e.ci_low, 2)} to {_n(e.ci_high, 2)}"),
        ("Relative to expected", f"{_n(e.relative * 100, 1)}%"),
        ("p-value", f"{e.p_value:.3g}"),
        ("Expected without the program", f"{_n(e.baseline, 2)} per day"),
        ("Days with data before / after", f"{e.pre_days} / {e.post_days}"),
        ("Placebo runs, false 'effects'",
         f"{len(r.placebo.runs)}, {r.placebo.false_positives} ({_n(r.placebo.false_positive_rate * 100, 0)}%)"
         if r.placebo.runs else "none (too few days before the start)"),
        ("Policy version", esc(", ".join(r.policy_versions) or "unknown")),
    ]
    for key, value in e.details.items():
        if isinstance(value, tuple):
            value = " to ".join(_n(v, 2) for v in value)
        elif isinstance(value, float):
            value = _n(value, 3)
        rows.append((esc(str(key)), esc(str(value))))
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    paragraphs = "".join(f"<p>{esc(t)}</p>" for t in summary(r))
    notes = "".join(f"<li>{esc(n)}</li>" for n in r.notes)
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{esc(prog.name)}: {esc(e.method_name)} of {esc(r.outcome)}</title>
<style>{_CSS}</style></head><body>
<h1>{esc(prog.name)}: what changed?</h1>
<p class="meta">{esc(prog.agency)} · {esc(prog.layer)}: {esc(', '.join(prog.areas))} · routes {esc(', '.join(prog.routes) or '—')}
 · started {prog.start:%Y-%m-%d} · outcome <code>{esc(r.outcome)}</code> · method {esc(e.method_name)}
 · policy version {esc(', '.join(r.policy_versions) or 'unknown')} · generated {r.generated_at:%Y-%m-%d %H:%M} UTC</p>
<div class="summary"><h2 style="border:0;margin-top:0">In plain words</h2>{paragraphs}</div>
<h2>Before and after</h2>
<figure>{_series_chart(r)}<figcaption class="small">Each dot is one day with data. Cities that publish
only some days of each month are compared per day with data, never per month.</figcaption></figure>
<h2>Placebo check</h2>
<figure>{_placebo_chart(r) if r.placebo.runs else '<p>Too few days before the start for placebo runs.</p>'}</figure>
<h2>The numbers</h2><table>{table}</table>
{f'<h2>Notes on the data</h2><ul>{notes}</ul>' if notes else ''}
<p class="small">Produced by divert (<code>divert evaluate --program {esc(prog.name)} --outcome {esc(r.outcome)}
 --method {esc(e.method)}</code>). Estimates describe association around the start date; other changes at
 the same time in the same areas would show up here too.</p>
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
