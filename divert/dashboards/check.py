"""Checks on the dashboards that need no Grafana and no database.

Each finding names the dashboard and the panel, variable or annotation. What is checked:

* structure: a uid of the form ``divert-<word>``, a title, panels with unique ids, a type,
  a grid position and at least one query (text panels excepted);
* data sources: every uid used is provisioned in ``dashboards/provisioning/datasources``;
* variables: every ``$var`` a query uses is defined on the dashboard (or is Grafana's own);
  text variables are used only where Grafana's quoting makes them safe — a single-valued one
  inside ``'…'``, a multi-valued one inside ``in (…)`` — and never with ``:csv``/``:raw``/
  ``:text`` (which pass a value through unquoted: SQL injection);
* SQL: expands with Grafana's macros (as the provisioned data source would) and parses with
  PostgreSQL's own parser (pglast); no ``$__timeGroup`` (on plain PostgreSQL it has no
  ``time_bucket``; divert's queries bucket with ``date_bin``); every panel's numbers name
  the policy version (a ``policy_version`` in the query);
* PromQL: the metrics exist in ``divert.telemetry`` (or are Prometheus's ``up``).

>>> findings = check_all()
>>> [str(f) for f in findings]
[]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pglast

from divert.dashboards.macros import ALL, MacroError, TimeRange, expand
from divert.dashboards.model import (
    Dashboard,
    DataSource,
    Query,
    load_dashboards,
    load_datasources,
    make_variable,
)

GRAFANA_BUILTINS = {"__interval", "__interval_ms", "__from", "__to", "__range", "__range_s",
                    "__range_ms", "__rate_interval", "__dashboard", "__user", "__org", "__name",
                    "timeFilter"}
UNSAFE_FORMATS = {"csv", "raw", "text", "pipe", "doublequote", "glob", "regex", "json",
                  "lucene", "percentencode", "distributed", "singlequote"}
_UID = re.compile(r"^divert-[a-z]+$")
_PROM_WORDS = {"sum", "rate", "increase", "histogram_quantile", "by", "without", "avg", "max", "min",
               "count", "irate", "le", "on", "ignoring", "topk", "bottomk", "abs", "clamp_min", "delta"}


@dataclass(frozen=True)
class Finding:
    dashboard: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.dashboard}: {self.where}: {self.message}"


def telemetry_metric_names() -> set[str]:
    """Every series name the worker exposes (counters' _total, histograms' _bucket ...)."""
    from divert.telemetry import WorkerMetrics

    names = {"up"}
    for metric in WorkerMetrics().registry.collect():
        kind = metric.type
        base = metric.name
        if kind == "counter":
            names |= {base + "_total", base + "_created"}
        elif kind == "histogram":
            names |= {base + "_bucket", base + "_sum", base + "_count", base + "_created"}
        else:
            names.add(base)
    return names


def sample_time_range() -> TimeRange:
    return TimeRange(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 8, tzinfo=UTC))


def sample_variables(board: Dashboard, hostile: str | None = None) -> list:
    """Every variable set to a plausible value (or to ``hostile``), multi ones to two values."""
    out = []
    for spec in board.variables:
        value = hostile if hostile is not None else {"city": "san_antonio", "layer": "district"}.get(
            spec["name"], "x")
        if spec.get("multi") or spec.get("includeAll"):
            out.append(make_variable(spec, [value, "y"]))
        else:
            out.append(make_variable(spec, value))
    return out


def expand_query(board: Dashboard, q: Query, sources: dict[str, DataSource], variables=None,
                 time_range: TimeRange | None = None) -> str:
    source = sources.get(q.datasource_uid or "")
    tr = time_range or sample_time_range()
    return expand(q.text, tr, variables if variables is not None else sample_variables(board),
                  timescaledb=bool(source and source.timescaledb))


def _check_structure(board: Dashboard) -> list[Finding]:
    f = []
    name = board.path.name
    if not _UID.match(board.uid):
        f.append(Finding(name, "uid", f"{board.uid!r} is not of the form divert-<word>"))
    if not board.title:
        f.append(Finding(name, "title", "missing"))
    ids = [p.get("id") for p in board.panels()]
    if len(ids) != len(set(ids)) or None in ids:
        f.append(Finding(name, "panels", f"panel ids must be present and unique: {ids}"))
    for p in board.panels():
        where = f"panel {p.get('id')} {p.get('title')!r}"
        for key in ("type", "title", "gridPos"):
            if not p.get(key):
                f.append(Finding(name, where, f"missing {key}"))
        if p.get("type") not in ("row", "text") and not p.get("targets"):
            f.append(Finding(name, where, "no queries"))
    return f


def _check_variable_use(board: Dashboard, q: Query) -> list[Finding]:
    f = []
    defined = {v["name"]: v for v in board.variables}
    for m in re.finditer(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)|\[\[(\w+)(?::(\w+))?\]\]", q.text):
        name = m.group(1) or m.group(3) or m.group(4)
        fmt = m.group(2) or m.group(5)
        if name.startswith("__") and name not in GRAFANA_BUILTINS:
            continue  # a macro, checked by expansion
        if name not in defined and name not in GRAFANA_BUILTINS:
            f.append(Finding(board.uid, q.where, f"uses ${name}, which is not a variable of this dashboard"))
            continue
        if q.kind != "sql" or name in GRAFANA_BUILTINS:
            continue
        spec = defined[name]
        before, after = q.text[:m.start()].rstrip(" "), q.text[m.end():].lstrip(" ")
        if fmt in UNSAFE_FORMATS:
            f.append(Finding(board.uid, q.where, f"${{{name}:{fmt}}} passes values unquoted (SQL injection): use ${name} or ${{{name}:sqlstring}}"))
        elif fmt == "sqlstring":
            pass
        elif spec.get("multi") or spec.get("includeAll"):
            if not (before.endswith("(") and after.startswith(")")):
                f.append(Finding(board.uid, q.where, f"multi-valued ${name} must be used as in (${name})"))
        elif not (q.text[m.start() - 1:m.start()] == "'" and q.text[m.end():m.end() + 1] == "'"):
            f.append(Finding(board.uid, q.where, f"single-valued ${name} must be quoted: '${name}'"))
    return f


def _check_promql(board: Dashboard, q: Query, metrics: set[str]) -> list[Finding]:
    f = []
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", q.text)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", " ", text)
    for name in re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", text):
        if name in _PROM_WORDS or name.startswith("__"):
            continue
        if name not in metrics:
            f.append(Finding(board.uid, q.where, f"metric {name} is not exposed by divert.telemetry"))
    return f


def check_dashboard(board: Dashboard, sources: dict[str, DataSource], metrics: set[str] | None = None) -> list[Finding]:
    metrics = metrics if metrics is not None else telemetry_metric_names()
    findings = _check_structure(board)
    for spec in board.variables:
        if spec.get("type") == "query" and _uidof(spec.get("datasource")) not in sources:
            findings.append(Finding(board.uid, f"variable {spec.get('name')}", "data source not provisioned"))
    for q in board.queries():
        if q.datasource_uid not in sources:
            findings.append(Finding(board.uid, q.where, f"data source uid {q.datasource_uid!r} is not provisioned "
                                    f"(known: {', '.join(sorted(sources))})"))
            continue
        source = sources[q.datasource_uid]
        findings += _check_variable_use(board, q)
        if q.kind == "promql":
            if source.type != "prometheus":
                findings.append(Finding(board.uid, q.where, f"PromQL sent to a {source.type} data source"))
            findings += _check_promql(board, q, metrics)
            continue
        if not source.is_postgres:
            findings.append(Finding(board.uid, q.where, f"SQL sent to a {source.type} data source"))
            continue
        if "$__timeGroup" in q.text:
            findings.append(Finding(board.uid, q.where, "uses $__timeGroup: bucket with date_bin(...) instead "
                                    "(plain PostgreSQL has no time_bucket)"))
        if q.where.startswith("panel") and "policy_version" not in q.text:
            findings.append(Finding(board.uid, q.where, "does not say which policy version produced its numbers"))
        try:
            sql = expand_query(board, q, sources)
            pglast.parse_sql(sql)
        except MacroError as exc:
            findings.append(Finding(board.uid, q.where, f"does not expand: {exc}"))
        except pglast.parser.ParseError as exc:
            findings.append(Finding(board.uid, q.where, f"does not parse after expansion: {exc}"))
        for hostile in ("x'); drop table calls; --", "a'b\\'c"):
            try:
                statements = pglast.parse_sql(expand_query(board, q, sources, sample_variables(board, hostile)))
            except pglast.parser.ParseError as exc:
                findings.append(Finding(board.uid, q.where, f"a variable value with quotes breaks the SQL: {exc}"))
                continue
            if len(statements) != 1:
                findings.append(Finding(board.uid, q.where, "a variable value can inject a second statement"))
    return findings


def _uidof(ds) -> str | None:
    return ds.get("uid") if isinstance(ds, dict) else ds


def check_all(directory=None) -> list[Finding]:
    sources = load_datasources(directory)
    metrics = telemetry_metric_names()
    findings = []
    for board in load_dashboards(directory):
        findings += check_dashboard(board, sources, metrics)
    uids = [b.uid for b in load_dashboards(directory)]
    if len(uids) != len(set(uids)):
        findings.append(Finding("dashboards", "uid", f"two dashboards share a uid: {uids}"))
    return findings


__all__ = ["ALL", "Finding", "check_all", "check_dashboard", "expand_query", "sample_time_range",
           "sample_variables", "telemetry_metric_names"]
