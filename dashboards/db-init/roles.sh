#!/bin/sh
# The db-init job of docker-compose.yml: the only step that logs in as the TimescaleDB
# superuser (POSTGRES_USER). It runs before the migrations on every `docker compose up` and
# is idempotent; passwords are (re)set from .env each time, so a new one in .env applies.
#
#   - the application role DIVERT_DB_USER, which the migrations, the worker and the replay
#     job use: no superuser, no role or database creation; it may create objects in schema
#     public of POSTGRES_DB (so it owns the tables) and use temporary tables;
#   - grafana_reader, the dashboards' login: no temporary tables, a statement timeout, a
#     connection limit, read-only transactions. What it may read is granted by the migration
#     consumers/db/migrations/008_least_privilege.sql (an allowlist: no dead_letters, no
#     subject demographics), which sets the same limits where it is allowed to; the schema
#     reader, owned by the application role, holds the views made for it;
#   - the timescaledb extension, which only a superuser may create (when the server has it;
#     tests/integration/test_least_privilege.py runs this script on plain PostgreSQL).
set -eu

tries=0
until pg_isready -q; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "db-init: the database at $PGHOST:${PGPORT:-5432} does not answer" >&2
        exit 1
    fi
    sleep 2
done

psql -v ON_ERROR_STOP=1 -q \
    -v app="$DIVERT_DB_USER" -v app_password="$DIVERT_DB_PASSWORD" \
    -v reader=grafana_reader -v reader_password="$GRAFANA_DB_PASSWORD" \
    -v dbname="$PGDATABASE" <<'EOSQL'
select set_config('divert.app', :'app', false), set_config('divert.reader', :'reader', false);
do $$
declare
    app    text := current_setting('divert.app');
    reader text := current_setting('divert.reader');
begin
    if app = current_user or exists (select from pg_roles where rolname = app and rolsuper) then
        raise exception 'DIVERT_DB_USER (%) is a superuser: name another role in .env (a data '
                        'volume made before db-init has its tables owned by the superuser; '
                        'see .env.example)', app;
    end if;
    if not exists (select from pg_roles where rolname = app) then
        execute format('create role %I', app);
    end if;
    if not exists (select from pg_roles where rolname = reader) then
        execute format('create role %I', reader);
    end if;
end
$$;

alter role :"app" with login password :'app_password'
    nosuperuser nocreatedb nocreaterole noreplication nobypassrls;
alter role :"reader" with login password :'reader_password'
    nosuperuser nocreatedb nocreaterole noreplication nobypassrls connection limit 10;
alter role :"reader" set statement_timeout = '5s';
alter role :"reader" set idle_in_transaction_session_timeout = '30s';
alter role :"reader" set default_transaction_read_only = on;
-- officer_activity without the subjects' demographics is the view reader.officer_activity
alter role :"reader" set search_path = reader, public;

select exists (select from pg_available_extensions where name = 'timescaledb') as timescale \gset
\if :timescale
create extension if not exists timescaledb;
\endif

revoke temporary on database :"dbname" from public;
grant connect, temporary on database :"dbname" to :"app";
grant connect on database :"dbname" to :"reader";
revoke create on schema public from public;
grant usage, create on schema public to :"app";
grant usage on schema public to :"reader";
-- the reader's views (the migrations fill it; the application role may not create schemas)
create schema if not exists reader authorization :"app";
-- an earlier set-up let the reader read every table made later; the migration's allowlist
-- replaces that
alter default privileges for role :"app" in schema public revoke all on tables from :"reader";
EOSQL
echo "db-init: roles $DIVERT_DB_USER and grafana_reader ready in $PGDATABASE"
