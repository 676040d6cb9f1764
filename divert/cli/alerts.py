"""``divert alerts``: spike alerts on diversion-eligible volume — tune the settings on history."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from divert.exceptions import ConfigError


def classified_frame(city: str, input_path: Path | None, policy_path: Path | None = None):
    """Classified calls of a city as a frame: a parquet file from ``divert classify`` is read
    as it is; a raw CAD file (or the city's history) goes through the adapter and the batch
    classifier, as ``divert classify`` does."""
    import msgspec
    import pandas as pd

    from divert.adapters import load_adapter
    from divert.adapters.reader import reading
    from divert.classify import classify_frame
    from divert.crosswalk import load_crosswalk
    from divert.exceptions import InvalidRecord
    from divert.policy import load_policy

    if input_path is not None and input_path.suffix == ".parquet":
        with reading(input_path, formats=(ValueError,), what="parquet file"):
            df = pd.read_parquet(input_path)
        missing = {"received_at", "eligible", "route"} - set(df.columns)
        if missing:
            raise ConfigError(f"{input_path}: not classified calls (missing {', '.join(sorted(missing))}); "
                              "make it with `divert classify`, or pass the raw CAD file")
        if "agency" not in df:
            df["agency"] = city
        return df
    adapter = load_adapter(city)
    rows = []
    for raw in adapter.read_raw(input_path):
        try:
            event = adapter.normalize(raw).event
        except InvalidRecord:
            continue  # counted and explained by `divert classify`; tuning needs only the good rows
        if event is not None:
            rows.append(msgspec.structs.asdict(event))
    if not rows:
        raise ConfigError(f"no {city} record could be normalized from {input_path or 'its history'}")
    df = pd.DataFrame(rows).drop_duplicates("incident_id", keep="last").reset_index(drop=True)
    with reading(policy_path or "the default policy", config=True):
        policy = load_policy(policy_path)
    return classify_frame(df, load_crosswalk(city), policy)


@click.group("alerts")
def command() -> None:
    """Spike alerts to managers when diversion-eligible volume rises above normal."""


@command.command("tune")
@click.option("--city", required=True, help="Agency whose settings apply (reference/alerting.yaml).")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Raw CAD file, or classified calls (.parquet from `divert classify`) "
                   "[default: the city's history files].")
@click.option("--settings", "settings_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Alert settings YAML [default: reference/alerting.yaml].")
@click.option("--detector", type=click.Choice(["cusum", "threshold"]),
              help="Sequential test on 15-minute steps, or k one-hour windows [default: the file's].")
@click.option("--k", type=int, help="threshold: consecutive windows above the bound before an alert.")
@click.option("--quantile", type=float, help="Band of normal counts: this quantile of the expected, e.g. 0.99.")
@click.option("--threshold", "cusum_threshold", type=float, help="cusum: log-likelihood ratio that alerts.")
@click.option("--shift", "cusum_shift", type=float, help="cusum: the rise tested for (1.5 = +150%).")
@click.option("--window", "window_minutes", type=int, help="Window length in minutes.")
@click.option("--span", "span_windows", type=int, help="threshold: windows summed for the test.")
@click.option("--min-excess", "min_excess_calls", type=float, help="Fewest calls over expected that can alert.")
@click.option("--layer", "layers", multiple=True, help="Area layer to watch (repeat; 'city' = whole agency).")
@click.option("--power/--no-power", default=True, show_default=True,
              help="Plant spikes and print the power curve (recall by size and duration per layer).")
@click.option("--seeds", default=1, show_default=True, help="Planting runs per duration for the power curve.")
@click.option("--show", default=10, show_default=True, help="Alerts to list (the largest scores).")
def tune(city, input_path, settings_path, detector, k, quantile, cusum_threshold, cusum_shift, window_minutes,
         span_windows, min_excess_calls, layers, power, seeds, show) -> None:
    """Replay history through the detector (no broker): alerts per covered week, and the power curve.

    Weeks count only the hours the history covers (a window with no call at all is a gap in
    the feed, not a quiet hour), so a file sampled on a few days per month is judged fairly.
    Alerts raised while a declared event was on (reference/events/<city>.yaml) are counted apart.
    The power curve plants spikes of +50% … +600% for 1, 2 and 3 hours in copies of real eligible
    calls (divert/spikes/power.py) and reports recall, median minutes from spike start to alert,
    and the smallest spike each layer catches at recall 0.9. Times are local to the city.
    """
    from zoneinfo import ZoneInfo

    from divert.adapters.reader import reading
    from divert.spikes import CITY_LAYER, frame_windows, load_alert_settings, replay_alerts
    from divert.spikes.power import false_alerts, format_table, power_curve, smallest_caught

    with reading(settings_path or "the alert settings", config=True):
        settings = load_alert_settings(city, settings_path, detector=detector, k=k, quantile=quantile,
                                       cusum_threshold=cusum_threshold, cusum_shift=cusum_shift,
                                       window_minutes=window_minutes, span_windows=span_windows,
                                       min_excess_calls=min_excess_calls, layers=tuple(layers) or None)
    tz = ZoneInfo(settings.timezone)
    df = classified_frame(city, input_path)
    windows = frame_windows(df, settings, agency=city if "agency" in df else None)
    if not windows:
        raise ConfigError(f"no {city} call with a time to the second in {input_path or 'its history'}")
    alerts, state = replay_alerts(windows, settings)
    covered_weeks = len(windows) * settings.window_minutes / (60 * 24 * 7)
    fa = false_alerts(alerts, windows, settings)
    firing = [a for a in alerts if a.state == "firing"]
    click.echo(f"{city}: {len(df):,} calls, {len(windows):,} covered windows of {settings.window_minutes} min "
               f"({covered_weeks:.1f} weeks of data between {windows[0].start.astimezone(tz):%Y-%m-%d} and "
               f"{windows[-1].end.astimezone(tz):%Y-%m-%d}, {settings.timezone}); "
               f"policy {windows[-1].policy_version}")
    how = (f"k={settings.k} quantile={settings.quantile} span={settings.span_windows}"
           if settings.detector == "threshold" else
           f"shift={settings.cusum_shift:g} threshold={settings.cusum_threshold:g}"
           + "".join(f" {layer}: shift={settings.shift_for(layer):g} threshold={settings.threshold_for(layer):g}"
                     for layer in settings.layers if layer != CITY_LAYER))
    click.echo(f"settings: detector={settings.detector} {how} min_excess={settings.min_excess_calls:g} "
               f"layers={','.join(settings.layers)} routes={','.join(settings.routes)}")
    click.echo(f"alerts: {len(firing)} raised → {fa.per_week:.2f} per covered week after the first "
               f"{settings.min_history_windows} windows of learning ({fa.weeks:.1f} weeks), declared events "
               f"excluded; {fa.in_events} during declared events ({fa.events_per_week:.2f}/week)")
    for layer in settings.layers:
        n, ev = fa.by_layer.get(layer, 0), fa.by_layer_in_events.get(layer, 0)
        click.echo(f"  {layer:<12} {n:>5} alerts, {n / fa.weeks if fa.weeks else 0:.2f}/week"
                   f"  (+{ev} during declared events)")
    by_series = Counter((a.area_layer, a.area, a.route) for a in firing)
    for (layer, area, route), n in by_series.most_common(5):
        if layer != CITY_LAYER:
            click.echo(f"    most: {layer} {area} {route}: {n}")
    for a in sorted(firing, key=lambda a: -a.score)[:show]:
        click.echo(f"  {a.window_start.astimezone(tz):%Y-%m-%d %H:%M %Z} {a.area_layer}={a.area} {a.route}: "
                   f"{a.message} (z {a.score:.1f})")
    still = len(state.firing)
    if still:
        click.echo(f"  ({still} still firing at the end of the history)")
    if not power:
        return
    rows = power_curve(df, settings, city, windows=windows, seeds=seeds)
    if not rows:
        click.echo("power curve: the history is too short to plant spikes after the detector's learning")
        return
    click.echo("power curve: recall and median minutes from spike start to alert, by spike size and duration")
    for line in format_table(rows):
        click.echo(line)
    for (layer, hours), size in smallest_caught(rows, 0.9).items():
        click.echo(f"smallest spike caught at recall 0.9: {layer} {hours} h: "
                   + (f"+{size:.0%}" if size else "none up to +600%"))
