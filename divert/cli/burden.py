"""divert burden: areas overburdened by reported crime, by policing untethered to crime, or both."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import click

from divert.exceptions import ConfigError
from divert.periods import city_timezone, local_span, parse_window


def load_harm(path: Path | None, city: str) -> tuple[dict[str, float] | None, float, str]:
    """(weights, default weight, source) from --harm FILE, else from the city's crime mapping."""
    from divert.adapters.reader import one_line, read_yaml

    if path is not None:
        doc = read_yaml(path) or {}
        try:
            weights = {str(k): float(v) for k, v in (doc.get("weights") or {}).items()}
            default = float(doc.get("default", 1))
        except (ValueError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}: expected YAML with 'weights' (name → number), 'default', 'source': "
                              f"{one_line(exc)}") from exc
        if not weights or any(w < 0 for w in weights.values()) or default < 0:
            raise ConfigError(f"{path}: 'weights' must list at least one offence, every weight >= 0")
        return weights, default, str(doc.get("source") or path)
    from divert.adapters.crime import available_crime_cities, load_crime_adapter

    if city in available_crime_cities():
        m = load_crime_adapter(city).mapping
        if m.harm_weights:
            return dict(m.harm_weights), m.harm_default, m.harm_source or f"reference/crime/{city}.yaml"
    return None, 1.0, ""


def load_group_population(path: Path | None) -> dict[str, float] | None:
    if path is None:
        return None
    from divert.adapters.reader import reading

    with reading(path), open(path, newline="", encoding="utf-8") as f:
        try:
            return {r["group"]: float(r["population"]) for r in csv.DictReader(f)}
        except UnicodeDecodeError:
            raise
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"{path}: expected columns group, population (a number): {exc}") from exc


def _read_population(load_population, city: str, layer: str, path: Path | None):
    """``load_population`` with a file that cannot be read (not UTF-8, a folder, …) named on one line."""
    from divert.adapters.reader import reading
    from divert.paths import reference_dir

    with reading(path or reference_dir() / "areas" / f"{city}.csv"):
        return load_population(city, layer, path)


@click.command("burden")
@click.option("--city", required=True, help="City (agency) whose stored calls and crime reports are compared.")
@click.option("--window", default="90d", show_default=True,
              help="Window length: 90d, 12h, 2w, or 'all' for one window over --from..--to.")
@click.option("--step", help="Step between window starts (default: the window, i.e. back to back).")
@click.option("--layer", default="beat", show_default=True, help="Area layer (beat, district, neighborhood …).")
@click.option("--from", "start", help="Start (ISO date/time, city local time unless an offset is given) "
              "[default: the first stored officer-initiated event].")
@click.option("--to", "end", help="End, exclusive [default: just after the last stored event].")
@click.option("--areas", "restrict", type=click.Choice(["union", "both"]), default="union", show_default=True,
              help="'both': compare only areas with enforcement and crime records (use when one source "
                   "covers part of the city).")
@click.option("--harm", "harm_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Harm weights (YAML, see reference/crime/harm/README.md) [default: the city's crime mapping's].")
@click.option("--population", "population_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Area population CSV (layer, area, population) [default: reference/areas/<city>.csv if present].")
@click.option("--group-population", "group_population_path",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Population by subject group CSV (group, population), for stops per 1,000 residents.")
@click.option("--include-arrests", is_flag=True, help="Count arrests recorded on crime reports as enforcement too.")
@click.option("--crime-threshold", default=1.25, show_default=True,
              help="Crime ratio (per capita, or share / equal share) at or above which an area is overburdened by crime.")
@click.option("--lq-threshold", default=1.25, show_default=True,
              help="Shrunk LQ at or above which (interval above 1) policing is untethered to crime.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
@click.option("--windows", "by_windows", is_flag=True,
              help="Every window in full (default: a short ranked summary over the whole span).")
@click.option("--top", default=10, show_default=True, help="Areas listed in the summary.")
def command(city, window, step, layer, start, end, restrict, harm_path, population_path,
            group_population_path, include_arrests, crime_threshold, lq_threshold, fmt, by_windows, top) -> None:
    """Rank areas overburdened by reported crime, by policing untethered to crime, or both.

    Enforcement = officer-initiated events (and arrests with --include-arrests); crime = stored
    crime reports (`divert crime replay|load`). For each window: the location quotient
    LQ = enforcement share / crime share per area, shrunk toward the city's mean so a small
    area is not ranked first on a handful of events, and the dissimilarity index D. The
    figures describe where enforcement and reported crime coincide or diverge, not why.
    """
    from consumers.db.connection import query
    from consumers.db.sources.burden import fetch_divergence
    from divert.burden import load_population

    if (offences := enforcement_offences_of(city)) is not None:
        return crime_enforcement(city, layer, start, end, population_path, fmt, offences)
    tz = city_timezone(city)
    width, step_td = parse_window(window), parse_window(step) if step else None
    if width and step_td and (width % step_td):
        raise ConfigError(f"--window {window} must be a whole multiple of --step {step}")
    start_t, end_t = local_span(start, end, tz)
    harm, harm_default, harm_source = load_harm(harm_path, city)
    population = _read_population(load_population, city, layer, population_path)
    group_population = load_group_population(group_population_path)
    summary = fmt == "table" and not by_windows

    async def read(conn):
        from consumers.db.sources.coverage import known_layers, read_coverage

        known = await known_layers(conn, city)
        if layer not in known:
            raise ConfigError(f"unknown layer {layer!r} for {city}: known layers are "
                              f"{', '.join(known) or 'none (nothing stored yet)'}")
        frame, lo, hi, unplaced, subjects = await fetch_divergence(
            conn, city, layer, start_t, end_t, width, step_td, harm, harm_default, include_arrests, restrict)
        coverage = await read_coverage(conn, city, layer=layer, start=lo, end=hi, timezone=tz)
        whole = None
        if summary:
            whole = (await fetch_divergence(conn, city, layer, lo, hi, None, None, harm, harm_default,
                                            include_arrests, restrict))[0]
        return frame, whole, lo, hi, unplaced, subjects, coverage

    frame, whole, start_t, end_t, unplaced, subjects, coverage = query(read)
    if coverage.partial_calls:  # a share of a slice is not a share of the city: compare the slice
        frame = frame[frame["area"].isin(coverage.calls.areas)]
        whole = whole[whole["area"].isin(coverage.calls.areas)] if whole is not None else None
    render(frame, city=city, layer=layer, tz=tz, start=start_t, end=end_t, restrict=restrict,
           harm_source=harm_source if harm else "", population=population, unplaced=unplaced,
           subjects=subjects, group_population=group_population, crime_threshold=crime_threshold,
           lq_threshold=lq_threshold, fmt=fmt, out=sys.stdout, coverage=coverage, whole=whole,
           window=window, top=top)


def render(frame, *, city, layer, tz, start, end, restrict, harm_source, population, unplaced, subjects,
           group_population, crime_threshold, lq_threshold, fmt, out, coverage=None, whole=None, window="",
           top=10) -> None:
    from zoneinfo import ZoneInfo

    from divert.burden import KIND_LABEL, assess
    from divert.disparity import Stop, disparity
    from divert.divergence import divergence_by_window

    by_window = divergence_by_window(frame, restrict=restrict)
    zone = ZoneInfo(tz)

    def day(t) -> str:
        return t.astimezone(zone).strftime("%Y-%m-%d %H:%M") if (t.astimezone(zone).hour or t.astimezone(zone).minute) \
            else t.astimezone(zone).strftime("%Y-%m-%d")

    if fmt == "csv":
        w = csv.writer(out)
        w.writerow(["window_start", "window_end", "layer", "area", "rank", "kind", "enforcement", "enforcement_share",
                    "crime", "crime_share", "lq", "lq_shrunk", "lq_low95", "lq_high95", "funnel_z", "crime_ratio",
                    "crime_ratio_basis", "dissimilarity", "harm_weighted"])
        for (ws, we), d in by_window.items():
            var = dict(zip(frame.loc[frame.window_start == ws, "area"], frame.loc[frame.window_start == ws, "crime_variance"], strict=False))
            for rank, b in enumerate(assess(d, population=population, crime_variance=var,
                                            harm_weighted=bool(harm_source), crime_threshold=crime_threshold,
                                            lq_threshold=lq_threshold), 1):
                a = b.div
                w.writerow([ws.isoformat(), we.isoformat(), layer, a.area, rank, b.kind or "", f"{a.enforcement:g}",
                            f"{a.enforcement_share:.6f}", f"{a.crime:.3f}", f"{a.crime_share:.6f}",
                            "inf" if math.isinf(a.lq) else f"{a.lq:.6f}", f"{a.lq_shrunk:.6f}", f"{a.low:.6f}",
                            f"{a.high:.6f}", f"{a.z:.3f}", f"{b.crime_ratio:.6f}",
                            "per_capita" if b.per_capita else "equal_share", f"{d.dissimilarity:.6f}",
                            bool(harm_source)])
        return
    from divert.costs.table import wrap
    from divert.coverage import count, plural

    def p(text: str = "", indent: str = "") -> None:
        for line in wrap(text, indent, first="") if text else [""]:
            print(line, file=out)

    unit = {"d": "day", "h": "hour", "w": "week"}
    span_word = f"{window[:-1]}-{unit[window[-1]]}" if window[-1:] in unit and window[:-1].isdigit() else window

    layers = plural(2, layer)
    offences = "harm point" if harm_source else "reported offence"
    p(f"{city}: enforcement vs reported crime by {layer}, {day(start)} – {day(end)} ({tz})")
    for note in coverage.notes() if coverage else ():
        p(note)
    if coverage is not None and coverage.partial_calls:
        p(f"Only the {count(len(coverage.calls.areas), layer)} the calls cover "
          f"{'is' if len(coverage.calls.areas) == 1 else 'are'} compared: shares are of those {layers}, "
          "not of the city.")
    p("Enforcement = officer-initiated events. LQ = the area's share of enforcement ÷ its share of "
      "reported crime; 'shrunk' pulls small areas toward the mean of the areas compared (empirical Bayes).")
    p("D = share of enforcement that would have to move between areas to match the distribution of "
      "reported crime. These figures show association, not cause.")
    if harm_source:
        p(f"Crime is harm-weighted ({harm_source}).")
    if restrict == "both":
        p(f"Only {layers} with both officer-initiated events and reported crime are compared "
          "(one source covers part of the city).")
    if unplaced:
        has, be = ("has", "is") if unplaced == 1 else ("have", "are")
        p(f"{count(unplaced, 'officer-initiated event')} {has} no {layer} and {be} not counted.")
    if not population:
        p(f"No population table for {city} ({layer}): crime burden is each {layer}'s share of reported crime "
          f"against an equal share; per-capita figures need reference/areas/{city}.csv.")
    if not by_window:
        p("No enforcement or crime records in this span.")

    def assessed(d, ws):
        rows_of = frame.loc[frame.window_start == ws] if ws is not None else whole
        var = dict(zip(rows_of["area"], rows_of["crime_variance"], strict=False))
        return assess(d, population=population, crime_variance=var, harm_weighted=bool(harm_source),
                      crime_threshold=crime_threshold, lq_threshold=lq_threshold)

    def window_line(label: str, d) -> str:
        events = count(d.total_enforcement, "officer-initiated event")
        if not math.isfinite(d.dissimilarity):
            missing = "no reported crime stored" if d.total_crime <= 0 else "no enforcement"
            return f"{label}: not compared ({missing}); {events}, {count(round(d.total_crime), offences)}"
        return (f"{label}: D = {d.dissimilarity:.3f}; {events}, {count(round(d.total_crime), offences)} over "
                f"{count(len(d.areas), layer)} (shrinkage toward LQ {d.prior_lq:.2f}, between-{layer} SD of "
                f"log LQ {d.tau:.2f})")

    if whole is not None:
        by_whole = divergence_by_window(whole, restrict=restrict)
        flagged: dict[str, int] = {}
        for (ws, _), d in by_window.items():
            for b in assessed(d, ws):
                if b.kind:
                    flagged[b.area] = flagged.get(b.area, 0) + 1
        for (ws, we), d in by_whole.items():
            p()
            p(window_line(f"== {day(ws)} – {day(we)}, the whole span", d))
            rows = assessed(d, None)
            for rank, b in enumerate(rows[:top], 1):
                label = f"[{KIND_LABEL[b.kind]}] " if b.kind else ""
                often = (f" Flagged in {flagged.get(b.area, 0)} of {len(by_window)} {span_word} windows."
                         if len(by_window) > 1 else "")
                p(f"{rank:>3}. {label}{b.sentence(layer)}{often}", "     ")
            if len(rows) > top:
                kinds = sum(1 for b in rows[top:] if b.kind)
                p(f"     … {count(len(rows) - top, layer)} more ({kinds} flagged): --top {len(rows)} lists them.")
        finite = sorted(d.dissimilarity for d in by_window.values() if math.isfinite(d.dissimilarity))
        if len(by_window) > 1:
            missing = len(by_window) - len(finite)
            spread = (f"D median {finite[len(finite) // 2]:.3f}, from {finite[0]:.3f} to {finite[-1]:.3f}"
                      if finite else "D not computable in any")
            p()
            p(f"{len(by_window)} {span_word} windows: {spread}"
              + (f"; {missing} {plural(missing, 'window')} not compared (no enforcement or no reported crime)"
                 if missing else "") + ". Every window in full: --windows; every area and window: --format csv.")
    else:
        for (ws, we), d in by_window.items():
            p()
            p(window_line(f"== {day(ws)} – {day(we)}", d))
            for rank, b in enumerate(assessed(d, ws), 1):
                label = f"[{KIND_LABEL[b.kind]}] " if b.kind else ""
                p(f"{rank:>3}. {label}{b.sentence(layer)}", "     ")
            for area, why in sorted(d.excluded.items()):
                if why != "no enforcement and no reported crime":
                    p(f"     not compared: {layer} {area} ({why})")
    p()
    stops = [Stop(r["subject_race"] or r["subject_ethnicity"], tuple(r["outcomes"] or ())) for r in subjects]
    result = disparity(stops, group_population)
    if result is None:
        p(f"Disparity by subject group: omitted — none of the {len(stops):,} officer-activity records in this "
          "span carries subject demographics.")
        return
    p("Disparity by subject group (descriptive; stops with no group recorded: "
      f"{result.unknown_group:,}):")
    for g in result.groups:
        parts = [f"{g.stops:,} stops"]
        if g.stops_per_1000 is not None:
            parts.append(f"{g.stops_per_1000:.1f} per 1,000 residents")
        if g.search_rate is not None:
            parts.append(f"searched {g.search_rate:.1%} ({g.search_interval[0]:.1%}–{g.search_interval[1]:.1%})")
        if g.hit_rate is not None:
            parts.append(f"searches finding contraband {g.hit_rate:.1%} "
                         f"({g.hit_interval[0]:.1%}–{g.hit_interval[1]:.1%})")
        p(f"  {g.group}: " + ", ".join(parts))
    if not result.has_population:
        p("  (stops per 1,000 residents omitted: no population by group given, --group-population)")
    if not result.has_searches:
        p("  (search and hit rates omitted: the records do not say whether a search happened)")


# -- a city with no CAD feed: enforcement read from crime reports, beside its surveys -----------

NO_CAD = ("{city} publishes no 911/CAD calls: community calls, diversion-eligible calls and officer-initiated "
          "calls are not available, and are not shown as zeros.")


def enforcement_offences_of(city: str):
    """(offences, not-ranked areas by layer) when the city has no CAD mapping and its crime mapping
    lists offences that measure enforcement; None otherwise."""
    from divert.adapters import available_cities
    from divert.adapters.crime import available_crime_cities, load_crime_adapter

    if city in available_cities() or city not in available_crime_cities():
        return None
    m = load_crime_adapter(city).mapping
    return (list(m.enforcement_offenses), dict(m.not_ranked)) if m.enforcement_offenses else None


def crime_enforcement(city, layer, start, end, population_path, fmt, offences_and_excluded) -> None:
    from consumers.db.connection import query
    from consumers.db.sources.burden import fetch_crime_enforcement
    from divert.burden import crime_enforcement_voices, load_population
    from divert.surveys.association import association

    offences, not_ranked = offences_and_excluded
    tz = city_timezone(city)
    start_t, end_t = local_span(start, end, tz)
    excluded = not_ranked.get(layer, [])
    counts, survey, periods, notes, start_t, end_t = query(
        fetch_crime_enforcement, city, layer, start_t, end_t, offences, excluded)
    population = _read_population(load_population, city, layer, population_path)
    voices = crime_enforcement_voices(counts, population=population, survey=survey)
    ranks = {m: list(vals.values()) for m, vals in survey.items()}
    lq = {v.area: v.offences.lq_shrunk for v in voices}
    out = sys.stdout
    if fmt == "csv":
        w = csv.writer(out)
        w.writerow(["area", "layer", "rank", "enforcement_crime_lq", "enforcement_crime_lq_shrunk", "lq_low95",
                    "lq_high95", "arrests_crime_lq", "enforcement_offences", "arrests", "other_crime",
                    "population", "other_crime_per_1000", "trust", "safety", "survey_periods", "calls"])
        for rank, v in enumerate(voices, 1):
            d, a = v.offences, v.arrests
            w.writerow([v.area, layer, rank, "inf" if math.isinf(d.lq) else f"{d.lq:.4f}", f"{d.lq_shrunk:.4f}",
                        f"{d.low:.4f}", f"{d.high:.4f}",
                        "" if a is None or math.isinf(a.lq) else f"{a.lq:.4f}", f"{d.enforcement:g}",
                        f"{a.enforcement:g}" if a else "0", f"{v.other_crime:g}",
                        f"{v.population:g}" if v.population else "",
                        f"{1000 * v.other_crime / v.population:.2f}" if v.population else "",
                        f"{v.survey['trust']:.2f}" if "trust" in v.survey else "",
                        f"{v.survey['safety']:.2f}" if "safety" in v.survey else "",
                        max(periods.values(), default=0) if v.survey else 0, "no CAD feed"])
        return
    zone_day = lambda t: t.astimezone(__import__("zoneinfo").ZoneInfo(tz)).strftime("%Y-%m-%d")  # noqa: E731
    p = lambda s="": print(s, file=out)  # noqa: E731
    p(f"{city}: enforcement, reported crime and what residents say, by {layer}, "
      f"{zone_day(start_t)} – {zone_day(end_t)} ({tz})")
    p(NO_CAD.format(city=city.replace("_", " ").title()))
    p("Enforcement is read from crime reports two ways: offences that come to light mostly through police "
      "action (" + ", ".join(o.lower() for o in offences) + "), and arrests. Other crime = every other "
      "reported offence (mostly reported by victims). Reports are not a census of crime.")
    p("LQ = the area's share of enforcement ÷ its share of other crime ('shrunk' pulls small areas toward "
      "the city's mean). These figures show association, not cause.")
    if excluded:
        p(f"Not ranked: {layer} {', '.join(excluded)} (non-patrol).")
    if survey:
        label = "; ".join(f"{name}: {note}" for name, note in notes if note) or "as published"
        p(f"Survey: {', '.join(sorted(survey))} on 0–100 scales, the mean of the published periods overlapping "
          f"this span (up to {max(periods.values())} per area); {label}.")
    else:
        p(f"No survey measures stored for {city} by {layer} in this span "
          f"(`divert load --city {city} --only surveys`).")
    if not voices:
        p("No crime reports in this span.")
    p()
    for rank, v in enumerate(voices, 1):
        p(f"{rank:>3}. {v.sentence(layer, ranks)}")
    p()
    for measure in ("trust", "safety"):
        if measure in survey:
            areas = [a for a in lq if a in survey[measure]]
            assoc = association([lq[a] for a in areas], [survey[measure][a] for a in areas])
            p(assoc.sentence("enforcement LQ (shrunk)", measure))
