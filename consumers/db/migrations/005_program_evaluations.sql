-- Programs and their evaluations (divert program / divert evaluate; the program dashboard).
--
-- A program works in some areas of ONE area layer (the areas of call_areas.layer), so its
-- treated areas are unambiguous; areas from 001 keep their meaning (area names in that layer).
-- An evaluation is stored with its estimate and its daily observed and counterfactual series,
-- so the program dashboard draws the same lines as the HTML report, named by policy version.

alter table programs add column area_layer text not null default 'district' check (area_layer <> '');
alter table programs add constraint programs_start_is_set check (start > timestamptz '1900-01-01');

create table program_evaluations (
    id                           bigserial    primary key,
    program                      text         not null references programs (name) on delete cascade,
    agency                       text         not null,
    outcome                      text         not null,
    method                       text         not null check (method in ('its', 'did', 'wdd')),
    effect                       double precision not null,
    ci_low                       double precision not null,
    ci_high                      double precision not null,
    p_value                      double precision,
    relative_effect              double precision,
    baseline                     double precision,
    placebo_runs                 integer      not null default 0,
    placebo_false_positive_rate  double precision,
    pre_days                     integer      not null,
    post_days                    integer      not null,
    policy_version               text         not null,
    summary                      text         not null,
    evaluated_at                 timestamptz  not null default now()
);
create index program_evaluations_lookup on program_evaluations (program, outcome, method, evaluated_at desc);

create table program_evaluation_days (
    evaluation_id   bigint       not null references program_evaluations (id) on delete cascade,
    day             timestamptz  not null,   -- the local day's midnight in the agency's time zone
    observed        double precision,
    counterfactual  double precision,
    primary key (evaluation_id, day)
);
