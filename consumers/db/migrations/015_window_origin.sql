-- The instant every window divert keeps is aligned on (issue 20): a Monday at 00:00 UTC, as
-- TimescaleDB's time_bucket aligns. One fact, divert.periods.WINDOW_ORIGIN: the dashboards bucket
-- with date_bin(…, window_origin()) instead of writing the date, and
-- tests/integration/test_window_origin.py checks that this function returns that constant.
-- (Migration 002 wrote the literal before this function existed; applied migrations are never
-- edited.)
--
-- immutable and a plain SQL body: the planner inlines it to the constant, so a date_bin over it
-- costs what the literal cost.
create or replace function window_origin() returns timestamptz
    language sql immutable parallel safe
    as $$ select timestamptz '2000-01-03 00:00:00+00' $$;

comment on function window_origin() is
    'the origin every divert window is aligned on (divert.periods.WINDOW_ORIGIN)';

-- PUBLIC may execute a new function by default; the dashboards' reader is granted it by name all
-- the same, so a database whose administrator revoked that default still serves the panels
-- (see 008_least_privilege.sql: without the role, nothing is granted).
do $$
begin
    if exists (select from pg_roles where rolname = 'grafana_reader') then
        grant execute on function window_origin() to grafana_reader;
    end if;
end
$$;
