"""Officer-initiated activity read from the stored calls (``divert officer``)."""

from __future__ import annotations

from consumers.db.sources import stored_span
from divert.officer_activity import SummaryRow


async def fetch_summary(conn, agency: str, start, end, by: str, layer: str, tz: str):
    """officer_initiated_summary rows for the span (default: every stored call), the span, and the
    officer-initiated events known only to the day."""
    start, end = await stored_span(conn, "calls", "received_at", agency, start, end, none_stored=(
        f"no calls stored for agency {agency!r}: replay its calls through the worker first"))
    rows = await conn.fetch("select * from officer_initiated_summary($1, $2, $3, $4, $5, $6)",
                            agency, start, end, by, layer, tz)
    day_only = await conn.fetchval(
        "select count(*) from calls where agency = $1 and received_at >= $2 and received_at < $3 "
        "and source = 'officer_initiated' and time_precision = 'day'", agency, start, end)
    return [SummaryRow(*r.values()) for r in rows], start, end, day_only
