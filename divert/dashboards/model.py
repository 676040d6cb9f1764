"""The dashboards in ``dashboards/*.json`` and the data sources provisioned beside them.

>>> boards = load_dashboards()
>>> sorted(b.uid for b in boards)[:2]
['divert-neighborhoods', 'divert-officers']
>>> sources = load_datasources()
>>> sources["divert-db"].timescaledb, sources["divert-prometheus"].type
(True, 'prometheus')
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from divert.dashboards.macros import ALL, TimeRange, Variable
from divert.exceptions import ConfigError
from divert.paths import REPO_ROOT

POSTGRES_TYPES = ("grafana-postgresql-datasource", "postgres")


def dashboards_dir() -> Path:
    return Path(os.environ.get("DIVERT_DASHBOARDS", REPO_ROOT / "dashboards"))


@dataclass(frozen=True)
class DataSource:
    uid: str
    type: str
    name: str
    timescaledb: bool = False
    time_interval: str | None = None

    @property
    def is_postgres(self) -> bool:
        return self.type in POSTGRES_TYPES


@dataclass(frozen=True)
class Query:
    """One SQL or PromQL query of a dashboard: a panel target, a variable or an annotation."""

    dashboard: str
    where: str                  # "panel 3 'Open alerts' A", "variable area", "annotation 'Program start'"
    datasource_uid: str | None
    text: str
    kind: str                   # 'sql' or 'promql'
    fmt: str = "table"          # 'table' or 'time_series' (SQL)
    time_from: str | None = None  # the panel's relative time override ("1h")
    panel_type: str | None = None


@dataclass(frozen=True)
class Dashboard:
    path: Path
    data: dict

    @property
    def uid(self) -> str:
        return self.data.get("uid", "")

    @property
    def title(self) -> str:
        return self.data.get("title", "")

    @property
    def variables(self) -> list[dict]:
        return list(self.data.get("templating", {}).get("list", []))

    def panels(self) -> Iterator[dict]:
        for panel in self.data.get("panels", []):
            yield panel
            yield from panel.get("panels", [])  # collapsed rows

    def queries(self) -> Iterator[Query]:
        for v in self.variables:
            if v.get("type") == "query":
                text = v.get("query")
                text = text.get("query") if isinstance(text, dict) else text
                yield Query(self.uid, f"variable {v.get('name')}", _uid(v.get("datasource")), text or "", "sql")
        for a in self.data.get("annotations", {}).get("list", []):
            if a.get("builtIn"):
                continue
            target = a.get("target") or {}
            yield Query(self.uid, f"annotation {a.get('name')!r}", _uid(a.get("datasource")),
                        target.get("rawSql", ""), "sql")
        for p in self.panels():
            if p.get("type") == "row":
                continue
            for t in p.get("targets", []):
                uid = _uid(t.get("datasource")) or _uid(p.get("datasource"))
                where = f"panel {p.get('id')} {p.get('title')!r} {t.get('refId', '')}".strip()
                if "rawSql" in t:
                    yield Query(self.uid, where, uid, t["rawSql"], "sql", t.get("format", "table"),
                                p.get("timeFrom"), p.get("type"))
                elif "expr" in t:
                    yield Query(self.uid, where, uid, t["expr"], "promql", "time_series",
                                p.get("timeFrom"), p.get("type"))


def _uid(ds) -> str | None:
    if isinstance(ds, dict):
        return ds.get("uid")
    return ds if isinstance(ds, str) else None


def load_dashboards(directory: Path | None = None) -> list[Dashboard]:
    directory = Path(directory or dashboards_dir())
    boards = []
    for path in sorted(directory.glob("*.json")):
        try:
            boards.append(Dashboard(path, json.loads(path.read_text())))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON: line {exc.lineno}: {exc.msg}") from exc
    return boards


def load_datasources(directory: Path | None = None) -> dict[str, DataSource]:
    folder = Path(directory or dashboards_dir()) / "provisioning" / "datasources"
    out: dict[str, DataSource] = {}
    for path in sorted(folder.glob("*.y*ml")):
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        for ds in doc.get("datasources", []):
            json_data = ds.get("jsonData") or {}
            out[ds["uid"]] = DataSource(ds["uid"], ds["type"], ds.get("name", ds["uid"]),
                                        bool(json_data.get("timescaledb", False)),
                                        json_data.get("timeInterval"))
    return out


def relative_range(end: datetime, time_from: str | None, default: TimeRange) -> TimeRange:
    """A panel's time override ('1h', '7d') ends where the dashboard's range ends."""
    if not time_from:
        return default
    from divert.dashboards.macros import parse_interval

    return TimeRange(end - timedelta(milliseconds=parse_interval(time_from.removeprefix("now-"))), end)


def variable_spec(dashboard: Dashboard, name: str) -> dict | None:
    return next((v for v in dashboard.variables if v.get("name") == name), None)


def make_variable(spec: dict, value, options: list[str] | tuple[str, ...] = ()) -> Variable:
    """A :class:`Variable` for the dashboard's definition ``spec`` set to ``value`` (ALL for All)."""
    if spec.get("type") == "custom" and not options:
        options = [o.strip() for o in str(spec.get("query", "")).split(",") if o.strip()]
    return Variable(spec["name"], value, multi=bool(spec.get("multi")),
                    include_all=bool(spec.get("includeAll")), options=tuple(options),
                    all_value=spec.get("allValue") or None)


__all__ = ["ALL", "DataSource", "Dashboard", "Query", "dashboards_dir", "load_dashboards",
           "load_datasources", "make_variable", "relative_range", "variable_spec"]
