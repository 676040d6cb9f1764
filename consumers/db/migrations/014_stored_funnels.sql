-- The funnel as `divert funnel --store` last computed it (issue 23), so the program dashboard shows
-- the stages the stored calls alone cannot give — the program's own hours, its teams simulated on
-- the real arrivals, served — without reading every call at each refresh.
--
-- program_funnels: one row per stage (reason null: the calls that reached it) and per reason a
-- stage's calls left for, for the whole program (area 'all', period 'all') and, stage counts only,
-- per area of the funnel's layer and per local month. Rows of one computation share computed_at;
-- earlier computations are kept (the dashboard reads the last). `calls` is null where the stage is
-- not measured (served, when the city's data names no alternative response).
--
-- type_reconciliations: the initial → final call type counts of `divert funnel --reconcile`, per
-- city and computation (the program dashboard's reconciliation panel reads the last one).
--
-- Readable by grafana_reader (008's allowlist grants only what existed then).
create table if not exists program_funnels (
    program        text        not null,
    city           text        not null,
    area_layer     text,
    area           text        not null,
    period         text        not null,
    period_start   timestamptz,
    period_end     timestamptz,
    stage_order    smallint    not null check (stage_order between 0 and 6),
    stage          text        not null,
    basis          text        not null check (basis in ('counted', 'simulated', 'measured', 'not measured')),
    reason         text,
    calls          bigint      check (calls >= 0),
    simulated_as   text        not null,   -- teams, hours, areas and target of the run
    computed_at    timestamptz not null,
    policy_version text        not null
);
create index if not exists program_funnels_last on program_funnels (program, city, computed_at desc);

create table if not exists type_reconciliations (
    city              text        not null,
    initial_code      text,
    eligible_initial  boolean     not null,
    calls             bigint      not null check (calls >= 0),
    with_final        bigint      not null check (with_final >= 0),
    crossed           bigint      not null check (crossed >= 0),
    ended_as          text        not null,
    period_start      timestamptz,
    period_end        timestamptz,
    computed_at       timestamptz not null,
    policy_version    text        not null
);
create index if not exists type_reconciliations_last on type_reconciliations (city, computed_at desc);

do $$
begin
    if exists (select from pg_roles where rolname = 'grafana_reader') then
        grant select on program_funnels, type_reconciliations to grafana_reader;
    end if;
end
$$;
