"""The edges that write and read: the database (``consumers.db``: connections, every query and
writer, migrations) and Grafana (``consumers.grafana``: publishing the dashboards)."""
