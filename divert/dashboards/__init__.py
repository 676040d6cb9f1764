"""Grafana dashboards as data: load them with their provisioning, expand their SQL the way
Grafana does, check them, publish them.

* :mod:`divert.dashboards.macros` — Grafana's template-variable interpolation and its
  PostgreSQL data source's macros, so tests and ``divert dashboards check`` run the SQL a
  panel really sends (pure);
* :mod:`divert.dashboards.model` — the dashboards, their panels' queries and variables, and the
  provisioned data sources, read from ``dashboards/`` (pure, reads files);
* :mod:`divert.dashboards.check` — structural checks that need no database (pure);
* :mod:`consumers.grafana` — pushes the dashboards to a running Grafana (HTTP).
"""
