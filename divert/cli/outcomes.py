"""``divert outcomes evaluate``: can a city's dispositions tell which call types end without
police action better than each type's running share? A prequential evaluation on its real calls."""

from __future__ import annotations

from pathlib import Path

import click

from divert.exceptions import ConfigError, InvalidRecord


def city_events(city: str, path: Path | None = None) -> list:
    """The city's calls through its adapter, one event per incident (the last version read),
    in event-time order; rows the adapter refuses are left out (``divert ingest audit`` counts them)."""
    from divert.adapters import load_adapter
    from divert.adapters.reader import reading

    adapter = load_adapter(city)
    latest = {}
    for p in [path] if path else adapter.history_files():
        with reading(p):
            for raw in adapter.read_raw(p):
                try:
                    ev = adapter.normalize(raw).event
                except InvalidRecord:
                    continue
                latest[ev.incident_id] = ev
    return sorted(latest.values(), key=lambda e: e.received_at)


def _f(value, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def format_report(result) -> str:
    from divert.dispositions import BASELINE, CANDIDATE

    lines = [f"{result.city}: {result.labelled:,} calls with a labelled disposition "
             f"({result.unlabelled:,} others not learned from), {len(result.periods)} {result.period}"
             f"{'' if len(result.periods) == 1 else 's'} "
             f"({result.periods[0] if result.periods else '—'} … {result.periods[-1] if result.periods else '—'}); "
             f"each {result.period} scored before it is learned from"]
    if not result.y:
        lines.append(f"  nothing scored: only one {result.period} holds labelled calls "
                     f"(try --period week or day)")
        return "\n".join(lines)
    head = (f"  {'calls':<10} {'candidate':<17} {'n':>7} {'share':>6} {'AUC':>6} {'Brier':>7} "
            f"{'skill':>6} {'cal.gap':>7} {'won':>8}")
    lines += ["  share = observed share ending without police action; skill = 1 − Brier / Brier of the "
              "overall rate;", "  cal.gap = largest |mean score − observed| over score deciles of ≥ 30 calls; "
              f"won = {result.period}s with a lower Brier than the type rate", head]
    for label, community in (("all", False), ("community", True)):
        for r in result.rows(community_only=community):
            won = "—" if r["candidate"] == BASELINE else f"{r['won']}/{r['periods']}"
            lines.append(f"  {label:<10} {r['candidate']:<17} {r['calls']:>7,} {_f(r['share'], '.3f'):>6} "
                         f"{_f(r['auc'], '.3f'):>6} {_f(r['brier'], '.4f'):>7} {_f(r['skill'], '.3f'):>6} "
                         f"{_f(r['gap'], '.3f'):>7} {won:>8}")
    unseen = ", ".join(f"{s.name} {s.unseen:,}" for s in result.scores.values() if s.unseen)
    if unseen:
        lines.append(f"  calls a candidate had never seen the type (scored with the overall rate): {unseen}")
    rows = {r["candidate"]: r for r in result.rows(community_only=True)}
    lines.append("  reliability by decile of the score, community calls (mean score → observed share):")
    lines.append(f"    {'decile':<7} {BASELINE:>22} {CANDIDATE:>22}")
    for i, (b, c) in enumerate(zip(rows[BASELINE]["reliability"], rows[CANDIDATE]["reliability"], strict=True)):
        lines.append(f"    {i + 1:<7} {b.predicted:>9.3f} → {b.observed:<10.3f} {c.predicted:>9.3f} → {c.observed:<10.3f}")
    ok, why = result.verdict()
    lines.append(f"  verdict: {CANDIDATE} {'EARNS' if ok else 'does NOT earn'} its place against the "
                 f"{BASELINE} on community calls: {why}")
    return "\n".join(lines)


@click.group("outcomes")
def command() -> None:
    """Learning from dispositions: which call types end without police action."""


@command.command("evaluate")
@click.option("--city", required=True, help="City whose calls are evaluated (reference/cities/<city>.yaml; "
              "its dispositions labelled in reference/policies/dispositions.yaml).")
@click.option("--period", type=click.Choice(["month", "week", "day"]), default="month", show_default=True,
              help="Each period is scored with what was learned from the earlier ones, then learned from.")
@click.option("--input", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="One file of the city's calls instead of its configured history.")
def evaluate(city, period, path) -> None:
    """Prequential evaluation: AUC, Brier score and a reliability table per candidate
    (overall rate, per-type running rate, the shrunk type rate) and a verdict."""
    from divert.crosswalk import load_crosswalk
    from divert.dispositions import load_disposition_labels, prequential

    labels = load_disposition_labels(city)
    if labels.empty:
        raise ConfigError(f"{city!r} records no disposition divert can label "
                          f"(reference/policies/dispositions.yaml): nothing to evaluate")
    result = prequential(city_events(city, path), load_crosswalk(city), labels, period=period)
    click.echo(format_report(result))
