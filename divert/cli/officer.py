"""divert officer: officer-initiated activity and its share of all police work."""

from __future__ import annotations

import csv
import sys

import click


@click.command("officer")
@click.option("--city", required=True, help="City (agency) whose stored calls are analysed.")
@click.option("--from", "start", help="Start (ISO date/time, city local time unless an offset is given).")
@click.option("--to", "end", help="End, exclusive.")
@click.option("--by", type=click.Choice(["type", "hour", "area", "all"]), default="type", show_default=True,
              help="Group by initial call type, hour of week (city local time), or area.")
@click.option("--layer", default="beat", show_default=True, help="Area layer for --by area.")
@click.option("--top", default=25, show_default=True, help="Rows shown in the table (0: all); CSV has all.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
def command(city, start, end, by, layer, top, fmt) -> None:
    """Officer-initiated events: how many, what share of all police work (by count and by
    unit time on scene, where the city records it), by type, hour of week or area."""
    from consumers.db.connection import query
    from consumers.db.sources.officer import fetch_summary
    from divert.officer_activity import hour_of_week_label, summarize
    from divert.periods import city_timezone, local_span

    tz = city_timezone(city)
    start_t, end_t = local_span(start, end, tz)
    rows, start_t, end_t, day_only = query(fetch_summary, city, start_t, end_t, by, layer, tz)
    s = summarize(rows)
    label = hour_of_week_label if by == "hour" else (lambda g: g)
    if by == "hour":
        s.groups.sort(key=lambda g: g.group)
    if fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(["group", "calls", "officer_initiated", "officer_initiated_share_of_calls",
                    "share_of_officer_initiated", "officer_initiated_unit_minutes", "unit_time_share"])
        for g in s.groups:
            w.writerow([label(g.group), g.calls, g.officer_initiated, f"{g.count_share:.6f}",
                        f"{g.share_of_officer_initiated:.6f}",
                        "" if g.unit_minutes is None else f"{g.unit_minutes:.1f}",
                        "" if g.unit_share is None else f"{g.unit_share:.6f}"])
        return
    click.echo(f"{city}: officer-initiated activity, {start_t:%Y-%m-%d} – {end_t:%Y-%m-%d} (UTC), by {by}")
    click.echo(f"{s.officer_initiated:,} officer-initiated events of {s.calls:,} police events: "
               f"{s.count_share:.1%} by count; " +
               (f"{s.unit_share:.1%} of {s.unit_minutes:,.0f} unit-minutes on scene "
                f"({s.timed_calls:,} events with arrival and clearance times)." if s.unit_share is not None
                else "unit time not recorded (no arrival and clearance times), so no share by time."))
    if by == "hour" and day_only:
        click.echo(f"{day_only:,} officer-initiated events known only to the day are not in the hour-of-week rows.")
    click.echo(f"{'group':<48} {'events':>8} {'officer-init.':>13} {'% of group':>10} {'% of all OI':>11} "
               f"{'% unit time':>11}")
    shown = s.groups if by == "hour" or not top else s.groups[:top]
    for g in shown:
        ut = "—" if g.unit_share is None else f"{g.unit_share:.1%}"
        click.echo(f"{label(g.group)[:48]:<48} {g.calls:>8,} {g.officer_initiated:>13,} {g.count_share:>10.1%} "
                   f"{g.share_of_officer_initiated:>11.1%} {ut:>11}")
    if len(shown) < len(s.groups):
        click.echo(f"… {len(s.groups) - len(shown)} more groups (--top 0 or --format csv for all)")
