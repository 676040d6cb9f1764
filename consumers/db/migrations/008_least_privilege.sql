-- Least privilege for the dashboards' login (issue 16): the role Grafana's data source uses,
-- grafana_reader, may read the published tables and views and nothing else.
--
--   * reads: an allowlist of tables and views (below). Not dead_letters (records divert could
--     not read are for operators, even redacted), not schema_migrations, and officer_activity
--     only through the view reader.officer_activity, which leaves out the subjects'
--     demographics (subject_*); the reader's search_path (reader, public) makes `from officer_activity` in the dashboards
--     read that view. A table added later is NOT readable until a migration grants it (a
--     migration that recreates a granted view grants it again): the blanket default privilege
--     an earlier set-up gave is removed.
--   * session limits: statement_timeout 5 s (so `select pg_sleep(600)` or a runaway query is
--     cancelled), idle_in_transaction_session_timeout 30 s, default_transaction_read_only on,
--     and at most 10 connections (Grafana's data source opens up to 5).
--   * no temporary tables: TEMP on this database is revoked from PUBLIC and granted to the
--     application role (the owner of the tables) only.
--   * pg_sleep stays executable: the statement timeout bounds it like any other slow query,
--     and revoking a pg_catalog function needs the superuser in every database.
--
-- Roles are cluster objects; the migration runs as the application role, which may not manage
-- roles or own the database (docker-compose.yml: the db-init job creates the roles with the
-- superuser and sets the same limits). So every step that needs more than table ownership is
-- done when allowed and otherwise skipped with a NOTICE, and the role is created here (with no
-- login; an administrator gives it LOGIN and a password) only when the migrating role may
-- create roles, e.g. on the embedded stack. Without the role, nothing is granted: nobody can
-- read. Idempotent: it converges on the same privileges whatever a database held before.
do $$
declare
    reader     constant text := 'grafana_reader';
    readable   constant text[] := array[
        'calls', 'call_areas', 'call_metrics_1m', 'call_metrics_1h', 'call_metrics_1d',
        'crime_reports', 'enforcement_events', 'alerts', 'programs', 'program_evaluations',
        'program_evaluation_days', 'survey_measures', 'cost_models', 'cost_on_scene',
        'cost_alternatives', 'call_police_time'];
    -- name, value as written in ALTER ROLE ... SET, as stored in pg_db_role_setting
    settings   constant text[] := array[
        ['statement_timeout', '''5s''', 'statement_timeout=5s'],
        ['idle_in_transaction_session_timeout', '''30s''',
         'idle_in_transaction_session_timeout=30s'],
        ['default_transaction_read_only', 'on', 'default_transaction_read_only=on'],
        ['search_path', 'reader, public', 'search_path=reader, public']];
    conn_limit constant integer := 10;
    me         record;
    role_row   record;
    setting    text[];
    relation   text;
    app_owner  text;
    columns    text;
    acl        record;
begin
    select rolsuper, rolcreaterole into me from pg_roles where rolname = current_user;

    -- officer_activity as the reader sees it: every column but the subjects' demographics.
    -- A view of the same name in schema reader, first on the reader's search_path, so the
    -- dashboards' SQL reads it unchanged. (Column privileges on the table would do on plain
    -- PostgreSQL, but TimescaleDB refuses them on a compressed hypertable.)
    if not exists (select from pg_namespace where nspname = 'reader') then
        begin
            create schema reader;
        exception when insufficient_privilege then
            raise exception 'schema reader is missing and % may not create it: run db-init '
                            '(dashboards/db-init/roles.sh) first', current_user;
        end;
    end if;
    if to_regclass('public.officer_activity') is not null then
        select string_agg(quote_ident(a.attname), ', ' order by a.attnum) into columns
        from pg_attribute a
        where a.attrelid = 'public.officer_activity'::regclass and a.attnum > 0
          and not a.attisdropped and a.attname not like 'subject\_%';
        execute format('create or replace view reader.officer_activity as select %s '
                       'from public.officer_activity', columns);
        comment on view reader.officer_activity is
            'officer_activity without the subjects'' demographics, for grafana_reader';
    end if;

    -- the reader role
    if not exists (select from pg_roles where rolname = reader) then
        if me.rolsuper or me.rolcreaterole then
            begin
                execute format('create role %I nologin', reader);
            exception when duplicate_object or unique_violation then
                null;  -- created at the same moment by a migration of another database
            end;
        else
            raise notice '%: role does not exist and % may not create it; nothing granted',
                reader, current_user;
        end if;
    end if;

    -- TEMP: the application role (owner of calls) keeps it, PUBLIC loses it. Not in
    -- template1, where no application database lives but PGlite serves its only one (and
    -- cannot update that catalog row: "tuple concurrently deleted").
    select pg_get_userbyid(c.relowner) into app_owner
    from pg_class c where c.oid = to_regclass('calls');
    if current_database() <> 'template1' then
        begin
            if not me.rolsuper then
                execute format('grant temporary on database %I to %I', current_database(),
                               current_user);
            end if;
            if app_owner is not null and app_owner <> current_user then
                execute format('grant temporary on database %I to %I', current_database(),
                               app_owner);
            end if;
            execute format('revoke temporary on database %I from public', current_database());
        exception when insufficient_privilege then
            raise notice 'TEMP on database % not revoked from PUBLIC: % does not own it',
                current_database(), current_user;
        end;
    end if;

    select r.oid, r.rolname, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication,
           r.rolbypassrls, r.rolconnlimit
    into role_row from pg_roles r where r.rolname = reader;
    if role_row.oid is null then
        return;
    end if;

    -- role limits: only what differs is altered (two databases migrating at once would
    -- otherwise update the same catalog row)
    if role_row.rolsuper or role_row.rolcreatedb or role_row.rolcreaterole
            or role_row.rolreplication or role_row.rolbypassrls then
        begin
            execute format('alter role %I nosuperuser nocreatedb nocreaterole noreplication '
                           'nobypassrls', reader);
        exception when insufficient_privilege then
            raise warning '% has a privileged attribute and % may not remove it', reader,
                current_user;
        end;
    end if;
    if role_row.rolconnlimit <> conn_limit then
        begin
            execute format('alter role %I connection limit %s', reader, conn_limit);
        exception when insufficient_privilege then
            raise notice '% may not set the connection limit of %', current_user, reader;
        end;
    end if;
    foreach setting slice 1 in array settings loop
        if not exists (select from pg_db_role_setting s
                       where s.setrole = role_row.oid and s.setdatabase = 0
                         and setting[3] = any(s.setconfig)) then
            begin
                execute format('alter role %I set %s to %s', reader, setting[1], setting[2]);
            exception when insufficient_privilege then
                raise notice '% may not set % for %', current_user, setting[3], reader;
            end;
        end if;
    end loop;

    -- reads: nothing, then the allowlist
    execute format('revoke all on all tables in schema public from %I', reader);
    execute format('revoke all on all sequences in schema public from %I', reader);
    foreach relation in array readable loop
        if to_regclass(relation) is not null then
            execute format('grant select on %I to %I', relation, reader);
        end if;
    end loop;
    execute format('grant usage on schema reader to %I', reader);
    execute format('revoke all on all tables in schema reader from %I', reader);
    execute format('grant select on reader.officer_activity to %I', reader);

    -- default privileges that would make every new table readable (the first compose set-up
    -- gave one for the role that ran the migrations)
    for acl in
        select d.defaclrole::regrole::text as owner, d.defaclnamespace, d.defaclobjtype
        from pg_default_acl d, aclexplode(d.defaclacl) x
        where x.grantee = role_row.oid
        group by 1, 2, 3
    loop
        begin
            execute format('alter default privileges for role %s %s revoke all on %s from %I',
                           acl.owner,
                           case when acl.defaclnamespace = 0 then ''
                                else 'in schema ' || acl.defaclnamespace::regnamespace::text end,
                           case acl.defaclobjtype when 'r' then 'tables' when 'S' then 'sequences'
                                when 'f' then 'functions' when 'T' then 'types'
                                when 'n' then 'schemas' end,
                           reader);
        exception when insufficient_privilege then
            raise warning 'default privileges of % still grant to %: run as a superuser: '
                          'alter default privileges for role % revoke all on tables from %',
                          acl.owner, reader, acl.owner, reader;
        end;
    end loop;
end
$$;
