-- What police time costs (issue 12): the city's cost model, loaded by `divert costs sync --city`
-- from reference/costs/<city>.yaml, and the police unit-hours and dollars of every stored call.
-- The pure twin is divert/costs/compute.py; a test checks both give the same figures.
--
-- A call's unit-hours are measured where the city recorded arrival and clear times
-- ((cleared_at - arrived_at) x units, 1 unit when unknown), else the model's assumed
-- unit-minutes for the call's APCO code (low / central / high), marked basis = 'assumed'.
-- Without a loaded model, hours of untimed calls and every dollar figure are null.

create table cost_models (
    agency                text         primary key,
    model_version         text         not null,       -- '<city>-FY<year>'
    fiscal_year           integer      not null,
    currency              text         not null default 'USD',
    police_hour_low       double precision not null check (police_hour_low >= 0),
    police_hour_central   double precision not null check (police_hour_central >= police_hour_low),
    police_hour_high      double precision not null check (police_hour_high >= police_hour_central),
    police_hour_method    text         not null check (police_hour_method in ('derived', 'entered')),
    police_hour_source    text         not null,
    police_hour_year      integer      not null,
    police_hour_derivation text        not null,
    on_scene_source       text         not null,
    on_scene_assumption   boolean      not null,
    loaded_at             timestamptz  not null default now()
);

-- assumed police unit-minutes per call; apco_code '*' = every code not listed
create table cost_on_scene (
    agency                text         not null references cost_models (agency) on delete cascade,
    apco_code             text         not null,
    officer_initiated     boolean      not null,
    category              text         not null,
    unit_minutes_low      double precision not null,
    unit_minutes_central  double precision not null,
    unit_minutes_high     double precision not null,
    primary key (agency, apco_code, officer_initiated)
);

create table cost_alternatives (
    agency                text         not null references cost_models (agency) on delete cascade,
    route                 text         not null,
    name                  text         not null,
    cost_per_hour_low     double precision,
    cost_per_hour_central double precision,
    cost_per_hour_high    double precision,
    cost_per_call_low     double precision,
    cost_per_call_central double precision,
    cost_per_call_high    double precision,
    responders_per_team   integer      not null,
    service_minutes       double precision not null,
    target_minutes        double precision not null,
    target_share          double precision not null,
    source                text         not null,
    assumption            boolean      not null,
    primary key (agency, route)
);

-- One row per stored call: its police unit-hours (low / central / high) and dollars.
create view call_police_time as
select c.agency, c.incident_id, c.received_at, c.time_precision, c.source, c.route, c.apco_code,
       c.eligible_initial, c.eligible, c.policy_version,
       case when m.hours is not null then 'measured'
            when s.agency is not null then 'assumed' else 'unknown' end as basis,
       coalesce(m.hours, s.unit_minutes_low / 60)                              as hours_low,
       coalesce(m.hours, s.unit_minutes_central / 60)                          as hours,
       coalesce(m.hours, s.unit_minutes_high / 60)                             as hours_high,
       k.police_hour_low, k.police_hour_central, k.police_hour_high, k.model_version
from calls c
cross join lateral (
    select case when c.cleared_at >= c.arrived_at
                then extract(epoch from c.cleared_at - c.arrived_at)::float8 / 3600 * coalesce(c.units, 1)
           end as hours
) m
left join cost_models k on k.agency = c.agency
left join lateral (
    select o.agency, o.unit_minutes_low, o.unit_minutes_central, o.unit_minutes_high
    from cost_on_scene o
    where o.agency = c.agency and o.officer_initiated = (c.source = 'officer_initiated')
      and o.apco_code in (coalesce(c.apco_code, '*'), '*')
    order by o.apco_code = '*'
    limit 1
) s on true;
