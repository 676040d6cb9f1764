"""Run the dashboards' SQL against a real database, as Grafana would send it (asyncpg; I/O).

Used by ``divert dashboards check`` (EXPLAIN every query against a migrated database) and by
the tests (run every panel on real data and look at what comes back).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from divert.dashboards.check import Finding, expand_query, sample_variables
from divert.dashboards.macros import ALL, TimeRange, Variable, expand
from divert.dashboards.model import Dashboard, DataSource, make_variable


async def resolve_variables(conn, board: Dashboard, sources: Mapping[str, DataSource], *,
                            time_range: TimeRange, chosen: Mapping[str, Any] | None = None) -> list[Variable]:
    """The dashboard's variables in order, each query variable's options read from the database
    (with the variables before it applied), set to ``chosen[name]``, else the dashboard's
    current value, else All (include-All variables) or the first option."""
    chosen = dict(chosen or {})
    resolved: list[Variable] = []
    for spec in board.variables:
        options: list[str] = []
        if spec.get("type") == "query":
            source = sources.get((spec.get("datasource") or {}).get("uid", ""))
            sql = expand(spec["query"], time_range, resolved, timescaledb=bool(source and source.timescaledb))
            options = [str(r[0]) for r in await conn.fetch(sql)]
        elif spec.get("type") == "custom":
            options = [o.strip() for o in str(spec.get("query", "")).split(",") if o.strip()]
        if spec["name"] in chosen:
            value = chosen[spec["name"]]
        else:
            current = (spec.get("current") or {}).get("value")
            if current is not None and (current == ALL or current in options):
                value = current
            elif spec.get("includeAll"):
                value = ALL
            else:
                value = options[0] if options else ""
        if (spec.get("multi") or spec.get("includeAll")) and isinstance(value, str) and value != ALL:
            value = [value]
        resolved.append(make_variable(spec, value, options))
    return resolved


async def explain_all(conn, boards: list[Dashboard], sources: Mapping[str, DataSource]) -> list[Finding]:
    """EXPLAIN every SQL query of every dashboard (sample values, then hostile ones)."""
    findings = []
    for board in boards:
        for q in board.queries():
            source = sources.get(q.datasource_uid or "")
            if q.kind != "sql" or not (source and source.is_postgres):
                continue
            for variables in (sample_variables(board), sample_variables(board, "x'); drop table calls; --")):
                sql = expand_query(board, q, sources, variables)
                try:
                    await conn.execute("explain " + sql)
                except Exception as exc:  # noqa: BLE001 - every server error is a finding
                    findings.append(Finding(board.uid, q.where, f"the database refuses it: "
                                            f"{exc.__class__.__name__}: {exc}"))
                    break
    return findings
