#!/bin/sh
# Runs once, when the TimescaleDB container initialises an empty data volume
# (docker-entrypoint-initdb.d): a read-only login for Grafana's data source.
# Tables and views that the divert user creates later (the migrations) are readable by it
# through default privileges. Its name and password come from .env.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v reader="$GRAFANA_DB_USER" -v password="$GRAFANA_DB_PASSWORD" \
    -v owner="$POSTGRES_USER" -v dbname="$POSTGRES_DB" <<'EOSQL'
create role :"reader" login password :'password';
grant connect on database :"dbname" to :"reader";
grant usage on schema public to :"reader";
grant select on all tables in schema public to :"reader";
alter default privileges for role :"owner" in schema public grant select on tables to :"reader";
EOSQL
