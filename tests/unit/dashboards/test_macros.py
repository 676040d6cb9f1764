"""Grafana's expansion, as its PostgreSQL data source does it, and the dashboards' static checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pglast
import pytest

from divert.dashboards.check import check_all, check_dashboard, telemetry_metric_names
from divert.dashboards.macros import ALL, TimeRange, Variable, expand
from divert.dashboards.model import Dashboard, load_datasources

TR = TimeRange(datetime(2024, 5, 1, 0, 0, tzinfo=UTC), datetime(2024, 5, 1, 6, 0, tzinfo=UTC))
HOSTILE = "x'); drop table calls; --"


def test_time_macros():
    assert expand("$__timeFilter(t)", TR) == "t BETWEEN '2024-05-01T00:00:00Z' AND '2024-05-01T06:00:00Z'"
    assert expand("$__timeFrom() $__timeTo()", TR) == "'2024-05-01T00:00:00Z' '2024-05-01T06:00:00Z'"
    assert expand("$__unixEpochFilter(e)", TR) == "e >= 1714521600 AND e <= 1714543200"
    assert expand("$__timeGroupAlias(t, '5m')", TR) == 'floor(extract(epoch from t)/300)*300 AS "time"'
    assert expand("$__timeGroupAlias(t, '5m')", TR, timescaledb=True) == "time_bucket('300.000s',t) AS \"time\""
    # the pre-5.3 form: $__timeGroup directly followed by a comma gets the alias
    assert expand("select $__timeGroup(t, 1h), v", TR).startswith('select floor(extract(epoch from t)/3600)*3600 AS "time"')
    assert expand("$__interval $__interval_ms", TR, interval_ms=120_000) == "2m 120000"


@pytest.mark.parametrize("value,expected", [
    ("NORTH", "area = 'NORTH'"),
    ("O'Brien", "area = 'O''Brien'"),
    (HOSTILE, "area = 'x''); drop table calls; --'"),
])
def test_single_value_is_escaped_inside_the_panels_quotes(value, expected):
    assert expand("area = '$area'", TR, [Variable("area", value)]) == expected


def test_multi_all_and_formats():
    v = Variable("area", ["A", "B'C"], multi=True, include_all=True, options=("A", "B'C", "D"))
    assert expand("in ($area)", TR, [v]) == "in ('A','B''C')"
    everything = Variable("area", ALL, multi=True, include_all=True, options=("A", "D"))
    assert expand("in ($area)", TR, [everything]) == "in ('A','D')"
    custom_all = Variable("area", ALL, include_all=True, options=("A",), all_value="'*'")
    assert expand("in ($area)", TR, [custom_all]) == "in ('*')"
    assert expand("${area:sqlstring}|${area:csv}|[[area]]", TR, [v]) == "'A','B''C'|A,B'C|'A','B''C'"


def test_hostile_values_never_make_a_second_statement():
    for sql in ("select 1 where a = '$v'", "select 1 where a in ($m)", "select 1 where a in (${v:sqlstring})"):
        text = expand(sql, TR, [Variable("v", HOSTILE), Variable("m", [HOSTILE, "a'b"], multi=True)])
        assert len(pglast.parse_sql(text)) == 1, text


def test_the_shipped_dashboards_pass_every_static_check():
    assert [str(f) for f in check_all()] == []


def test_the_check_catches_unsafe_and_undefined_variables():
    board = Dashboard(path=__import__("pathlib").Path("bad.json"), data={
        "uid": "divert-bad", "title": "bad",
        "templating": {"list": [{"name": "area", "type": "custom", "query": "a,b", "multi": True}]},
        "panels": [{"id": 1, "type": "table", "title": "t", "gridPos": {"x": 0, "y": 0, "w": 1, "h": 1},
                    "datasource": {"uid": "divert-db"},
                    "targets": [{"refId": "A", "datasource": {"uid": "divert-db"},
                                 "rawSql": "select policy_version from calls where area in (${area:csv}) "
                                           "and city = $city and $__timeGroup(received_at, '1h') is not null"}]},
                   {"id": 2, "type": "timeseries", "title": "p", "gridPos": {"x": 0, "y": 0, "w": 1, "h": 1},
                    "datasource": {"uid": "nope"}, "targets": [{"refId": "A", "expr": "rate(x_total[5m])"}]}]})
    messages = " | ".join(str(f) for f in check_dashboard(board, load_datasources(), telemetry_metric_names()))
    assert "unquoted (SQL injection)" in messages
    assert "$city, which is not a variable" in messages
    assert "$__timeGroup" in messages
    assert "'nope' is not provisioned" in messages
