"""Enforcement against reported crime by area, read from the stored events (``divert burden``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pandas as pd

from consumers.db.sources import stored_span
from divert.adapters import not_places
from divert.surveys.measures import Measure, over_window


async def fetch_divergence(conn, agency: str, layer: str, start: datetime | None, end: datetime | None,
                           width: timedelta | None, step: timedelta | None, harm: dict | None,
                           harm_default: float, include_arrests: bool, restrict: str):
    """The rows of area_divergence, the span used, events with no area in the layer, and
    officer-activity subject records (for the disparity section)."""
    start, end = await stored_span(conn, "enforcement_events", "occurred_at", agency, start, end, none_stored=(
        f"no officer-initiated events stored for agency {agency!r}: replay its calls through the worker first"))
    rows = await conn.fetch(
        "select * from area_divergence($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)",
        agency, layer, start, end, width, step, json.dumps(harm) if harm else None, harm_default,
        include_arrests, restrict)
    unplaced = await conn.fetchval(
        "select count(*) from enforcement_events where agency = $1 and occurred_at >= $2 "
        "and occurred_at < $3 and coalesce(areas ->> $4, '') = ''", agency, start, end, layer)
    subjects = await conn.fetch(
        "select subject_race, subject_ethnicity, outcomes from officer_activity where agency = $1 "
        "and occurred_at >= $2 and occurred_at < $3", agency, start, end)
    frame = pd.DataFrame([dict(r) for r in rows], columns=[
        "window_start", "window_end", "area", "enforcement", "crime", "crime_variance",
        "enforcement_share", "crime_share", "lq", "dissimilarity"])
    # the core recomputes shares from the counts, so areas that name no place leave the totals too
    frame = frame[~frame["area"].isin(not_places(agency, layer))]
    return frame, start, end, unplaced, subjects


async def fetch_crime_enforcement(conn, agency: str, layer: str, start, end, offences, not_ranked):
    """Counts per area (area_crime_enforcement), survey measures over the span, and the stored span."""
    start, end = await stored_span(conn, "crime_reports", "occurred_at", agency, start, end, none_stored=(
        f"no crime reports stored for {agency!r}: run `divert load --city {agency}` first"))
    rows = await conn.fetch("select * from area_crime_enforcement($1, $2, $3, $4, $5, $6)",
                            agency, layer, start, end, offences, not_ranked)
    survey_rows = await conn.fetch(
        "select * from survey_measures where agency = $1 and layer = $2 and period_start < $4 "
        "and period_end > $3 and estimate is not null", agency, layer, start, end)
    counts = {r["area"]: dict(r) for r in rows}
    measures = [Measure(**{k: r[k] for k in Measure.__dataclass_fields__}) for r in survey_rows]
    survey: dict[str, dict[str, float]] = {}
    periods: dict[str, int] = {}
    for measure, _, area, value, k in over_window(measures, start, end):
        if area in not_ranked:
            continue
        survey.setdefault(measure, {})[area] = value
        periods[measure] = max(periods.get(measure, 0), k)
    notes = sorted({(m.survey, m.note) for m in measures})
    return counts, survey, periods, notes, start, end
