"""Writes the funnel `divert funnel --store` computed, and the city's initial → final type
reconciliation, to program_funnels and type_reconciliations (migration 014); the program
dashboard reads the last of each with its own SQL.

One computation is one transaction: its rows share ``computed_at``; earlier ones are kept.
Functions take an open asyncpg connection; nothing here connects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from divert.funnel import StageRow
from divert.reconcile import Reconciliation

FUNNEL_COLUMNS = ("program", "city", "area_layer", "area", "period", "period_start", "period_end", "stage_order",
                  "stage", "basis", "reason", "calls", "simulated_as", "computed_at", "policy_version")
RECONCILIATION_COLUMNS = ("city", "initial_code", "eligible_initial", "calls", "with_final", "crossed", "ended_as",
                          "period_start", "period_end", "computed_at", "policy_version")


def _insert(table: str, columns: Sequence[str]) -> str:
    # a few hundred rows: plain inserts, which every server divert runs on serves (PGlite has no COPY)
    return (f"insert into {table} ({', '.join(columns)}) "
            f"values ({', '.join(f'${i}' for i in range(1, len(columns) + 1))})")


async def store_funnel(conn, rows: Sequence[StageRow], *, program: str, city: str, area_layer: str | None,
                       start: datetime, end: datetime, simulated_as: str, computed_at: datetime,
                       policy_version: str) -> int:
    """Store one computed funnel; returns the rows written."""
    records = [(program, city, area_layer, r.area, r.period, start, end, r.stage_order, r.stage, r.basis, r.reason,
                r.calls, simulated_as, computed_at, policy_version) for r in rows]
    async with conn.transaction():
        await conn.executemany(_insert("program_funnels", FUNNEL_COLUMNS), records)
    return len(records)


async def store_reconciliation(conn, r: Reconciliation, *, city: str, start: datetime | None,
                               end: datetime | None, computed_at: datetime, policy_version: str) -> int:
    """Store one initial → final type reconciliation: both directions, one row per initial type
    and side (``ended_as``: the final codes crossed to, most frequent first)."""
    records = [(city, t.code, eligible, t.calls, t.with_final, t.crossed,
                ", ".join(f"{code} {n:,}" for code, n in list(t.ended_as.items())[:3]), start, end, computed_at,
                policy_version)
               for eligible, rows in ((True, r.eligible_to_other), (False, r.other_to_eligible)) for t in rows]
    async with conn.transaction():
        await conn.executemany(_insert("type_reconciliations", RECONCILIATION_COLUMNS), records)
    return len(records)

