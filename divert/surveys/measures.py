"""A survey file → area measures (one per item, area and period), ready to store or show.

Published surveys give one measure per row as published (no margin of error unless one is
published). Microdata give, per item and per area of each layer the mapping declares (and
citywide), the weighted share agreeing with its margin of error (:func:`~divert.surveys.estimate.share`).
Every estimate is on a 0–100 scale: a percentage agreeing, or the published 0–100 score.

:func:`over_window` turns monthly measures into one value per area for any span: the mean of
the periods it overlaps, weighted by the days of overlap — the survey's own figures, averaged,
never re-estimated.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec

from divert.adapters.reader import read_csv
from divert.exceptions import ConfigError
from divert.paths import shared_data_dir
from divert.surveys.estimate import post_stratify, share
from divert.surveys.mapping import SurveyMapping


@dataclass(frozen=True)
class Measure:
    survey: str
    agency: str
    item: str
    measure: str                 # what the item measures (safety, trust …), or the item id
    layer: str
    area: str
    period_start: datetime
    period_end: datetime         # exclusive
    estimate: float | None       # 0–100
    scale: str                   # percent | score_0_100
    moe: float | None = None     # 95%, 0–100 units
    n: int | None = None
    n_effective: float | None = None
    suppressed: str | None = None
    note: str = ""

    @property
    def key(self) -> tuple:
        return (self.survey, self.item, self.layer, self.area, self.period_start, self.period_end)


def survey_file(mapping: SurveyMapping, override: Path | None = None) -> Path:
    path = Path(override) if override else shared_data_dir() / mapping.file
    if not path.is_file():
        raise ConfigError(f"survey file {path} not found")
    return path


def _local_midnight(d: date, tz: str) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _parse_date(text: str, formats: Sequence[str]) -> date:
    for f in formats:
        try:
            return datetime.strptime(text.strip(), f).date()
        except ValueError:
            continue
    raise ValueError(text)


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def row_period(mapping: SurveyMapping, row: dict) -> tuple[datetime, datetime]:
    p = mapping.period
    if p.start_column:
        start = _parse_date(row[p.start_column], p.formats)
        if p.end_column:
            end = _parse_date(row[p.end_column], p.formats) + (timedelta(days=1) if p.end_inclusive else timedelta())
        else:
            end = _next_month(start)
    else:
        start, end = date.fromisoformat(p.start), date.fromisoformat(p.end)
    return _local_midnight(start, mapping.timezone), _local_midnight(end, mapping.timezone)


def row_area(mapping: SurveyMapping, row: dict) -> tuple[str, str] | None:
    """(layer, area) of a row: the finest declared layer whose column is filled, else the city."""
    found = None
    for level in mapping.areas:
        text = (row.get(level.column) or "").strip()
        if not text:
            continue
        if level.regex:
            m = re.search(level.regex, text)
            if not m:
                continue
            text = m.group(1) if m.re.groups else m.group(0)
        found = (level.layer, level.template.format(text) if level.template else text)
    if found is None and mapping.city_when_blank:
        return ("city", "all")
    return found


def _number(text: str | None) -> float | None:
    if text is None or not str(text).strip():
        return None
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def published_measures(name: str, mapping: SurveyMapping, rows: Iterable[dict]) -> tuple[list[Measure], int]:
    """Measures as published; exact repeats of a row count once (returned: measures, repeats)."""
    out: dict[tuple, Measure] = {}
    repeats = 0
    for row in rows:
        where = row_area(mapping, row)
        if where is None:
            continue
        start, end = row_period(mapping, row)
        for item_id, item in mapping.items.items():
            value = _number(row.get(mapping.column_of(item_id)))
            if value is None:
                continue
            m = Measure(name, mapping.agency, item_id, item.measure or item_id, where[0], where[1], start, end,
                        value, "percent" if item.scale == "percent" else "score_0_100",
                        note=mapping.moe_note)
            if m.key in out:
                repeats += 1
            out[m.key] = m
    return list(out.values()), repeats


def microdata_measures(name: str, mapping: SurveyMapping, rows: Sequence[dict],
                       items: Sequence[str] | None = None, layers: Sequence[str] | None = None) -> list[Measure]:
    """The share agreeing per item and area (and citywide), with margins of error."""
    weights = None
    if mapping.weight:
        weights = [_number(r.get(mapping.weight)) or 0.0 for r in rows]
    note = "weighted (" + mapping.weight + ")" if mapping.weight else "no weights: simple random sample"
    if mapping.margins:
        strata = [(r.get(mapping.margins.column) or "").strip() or None for r in rows]
        weights = post_stratify(strata, mapping.margins.population, weights)
        note = f"post-stratified to population by {mapping.margins.column}" + (
            f" ({mapping.margins.source})" if mapping.margins.source else "")
    weights = weights or [1.0] * len(rows)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        for level in mapping.areas:
            m = row_area(msgspec.structs.replace(mapping, areas=[level], city_when_blank=False), r)
            if m is not None:
                groups[m].append(i)
        groups[("city", "all")].append(i)
    periods = [row_period(mapping, r) for r in rows[:1]] or [(None, None)]
    start, end = periods[0]
    out = []
    for item_id in items or list(mapping.items):
        item = mapping.items[item_id]
        col = mapping.column_of(item_id)
        answers = [_answer(r.get(col)) for r in rows]
        for (layer, area), idx in sorted(groups.items()):
            if layers and layer not in layers:
                continue
            e = share([answers[i] for i in idx], agree=set(item.agree), dont_know=set(item.dont_know),
                      weights=[weights[i] for i in idx], min_n=mapping.min_n)
            out.append(Measure(name, mapping.agency, item_id, item.measure or item_id, layer, area, start, end,
                               None if e.estimate is None else 100 * e.estimate, "percent",
                               None if e.moe is None else 100 * e.moe, e.n, e.n_effective, e.suppressed, note))
    return out


def _answer(text: str | None) -> int | None:
    v = _number(text)
    return int(v) if v is not None and v == int(v) else None


def read_measures(name: str, mapping: SurveyMapping, path: Path | None = None) -> tuple[list[Measure], int]:
    """Every measure of a survey file (measures, exact repeats dropped)."""
    rows = list(read_csv(survey_file(mapping, path)))
    if mapping.kind == "published":
        return published_measures(name, mapping, rows)
    return microdata_measures(name, mapping, rows), 0


def over_window(measures: Iterable[Measure], start: datetime, end: datetime) -> Iterator[tuple[str, str, str, float, int]]:
    """(measure, layer, area, mean estimate, periods) over [start, end): the published values of
    the periods overlapping it, weighted by days of overlap."""
    acc: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for m in measures:
        if m.estimate is None:
            continue
        overlap = (min(m.period_end, end) - max(m.period_start, start)).total_seconds()
        if overlap <= 0:
            continue
        a = acc[(m.measure, m.layer, m.area)]
        a[0] += m.estimate * overlap
        a[1] += overlap
        a[2] += 1
    for (measure, layer, area), (s, w, k) in sorted(acc.items()):
        yield measure, layer, area, s / w, int(k)


__all__ = ["Measure", "read_measures", "published_measures", "microdata_measures", "over_window",
           "row_area", "row_period", "survey_file"]
