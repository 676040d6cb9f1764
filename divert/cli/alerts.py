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
@click.option("--k", type=int, help="Consecutive windows above the bound before an alert.")
@click.option("--quantile", type=float, help="Upper bound quantile, e.g. 0.999.")
@click.option("--window", "window_minutes", type=int, help="Window length in minutes.")
@click.option("--span", "span_windows", type=int, help="Windows summed for the test.")
@click.option("--min-excess", "min_excess_calls", type=float, help="Fewest calls over expected that can alert.")
@click.option("--layer", "layers", multiple=True, help="Area layer to watch (repeat; 'city' = whole agency).")
@click.option("--show", default=10, show_default=True, help="Alerts to list (the largest scores).")
def tune(city, input_path, settings_path, k, quantile, window_minutes, span_windows, min_excess_calls,
         layers, show) -> None:
    """Replay history through the detector (no broker) and report alerts per week.

    Weeks count only the hours the history covers (a window with no call at all is a gap in
    the feed, not a quiet hour), so a file sampled on a few days per month is judged fairly.
    """
    from divert.adapters.reader import reading
    from divert.spikes import CITY_LAYER, frame_windows, load_alert_settings, replay_alerts

    with reading(settings_path or "the alert settings", config=True):
        settings = load_alert_settings(city, settings_path, k=k, quantile=quantile, window_minutes=window_minutes,
                                       span_windows=span_windows, min_excess_calls=min_excess_calls,
                                       layers=tuple(layers) or None)
    df = classified_frame(city, input_path)
    windows = frame_windows(df, settings, agency=city if "agency" in df else None)
    if not windows:
        raise ConfigError(f"no {city} call with a time to the second in {input_path or 'its history'}")
    alerts, detector = replay_alerts(windows, settings)
    covered_weeks = len(windows) * settings.window_minutes / (60 * 24 * 7)
    warm = [w for w in windows if w.start >= _warm_from(windows, settings)]
    warm_weeks = len(warm) * settings.window_minutes / (60 * 24 * 7)
    firing = [a for a in alerts if a.state == "firing"]
    click.echo(f"{city}: {len(df):,} calls, {len(windows):,} covered windows of {settings.window_minutes} min "
               f"({covered_weeks:.1f} weeks of data between {windows[0].start:%Y-%m-%d} and "
               f"{windows[-1].end:%Y-%m-%d}); policy {windows[-1].policy_version}")
    click.echo(f"settings: k={settings.k} quantile={settings.quantile} span={settings.span_windows} "
               f"min_excess={settings.min_excess_calls:g} layers={','.join(settings.layers)} "
               f"routes={','.join(settings.routes)}")
    per_week = len(firing) / warm_weeks if warm_weeks else float("nan")
    click.echo(f"alerts: {len(firing)} raised → {per_week:.2f} per covered week after the first "
               f"{settings.min_history_windows} windows of learning ({warm_weeks:.1f} weeks)")
    by_series = Counter((a.area_layer, a.area, a.route) for a in firing)
    layer_counts = Counter(a.area_layer for a in firing)
    for layer in settings.layers:
        click.echo(f"  {layer:<12} {layer_counts.get(layer, 0):>5} alerts, "
                   f"{layer_counts.get(layer, 0) / warm_weeks if warm_weeks else 0:.2f}/week")
    for (layer, area, route), n in by_series.most_common(5):
        if layer != CITY_LAYER:
            click.echo(f"    most: {layer} {area} {route}: {n}")
    for a in sorted(firing, key=lambda a: -a.score)[:show]:
        click.echo(f"  {a.window_start:%Y-%m-%d %H:%M}Z {a.area_layer}={a.area} {a.route}: "
                   f"{a.observed:g} calls vs {a.expected:.1f} expected (bound {a.upper_bound:g}, z {a.score:.1f})")
    still = len(detector.firing)
    if still:
        click.echo(f"  ({still} still firing at the end of the history)")


def _warm_from(windows, settings):
    idx = min(settings.min_history_windows, len(windows) - 1)
    return windows[idx].start
