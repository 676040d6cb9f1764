-- What residents say (issue 11): survey measures by area and period, and Chicago-style
-- enforcement read from crime reports, side by side with reported crime.

-- One row per survey item x area x period: a published score or percentage as published, or a
-- share agreeing estimated from microdata (divert.surveys), on a 0-100 scale. moe is the 95%
-- margin of error in the same units; null when none can be computed ('note' says why).
create table if not exists survey_measures (
    survey        text not null,
    agency        text not null,
    item          text not null,
    measure       text not null,          -- what the item measures: safety, trust ...
    layer         text not null,          -- district, sector, council_district, city ...
    area          text not null,
    period_start  timestamptz not null,
    period_end    timestamptz not null,   -- exclusive
    estimate      double precision,       -- null when suppressed
    scale         text not null check (scale in ('percent', 'score_0_100')),
    moe           double precision,
    n             integer,
    n_effective   double precision,
    suppressed    text,
    note          text not null default '',
    loaded_at     timestamptz not null default now(),
    primary key (survey, item, layer, area, period_start, period_end)
);
create index if not exists survey_measures_lookup on survey_measures (agency, measure, layer, period_start);

-- Reported crime and enforcement per area of one layer over [p_from, p_to), from crime
-- reports alone (a city with no officer-activity feed): offences that come to light mostly
-- through police action (p_enforcement_offenses) are enforcement, every other offence is
-- crime; arrests are counted as a second enforcement measure. Areas in p_not_ranked are left out.
create or replace function area_crime_enforcement(
    p_agency text, p_layer text, p_from timestamptz, p_to timestamptz,
    p_enforcement_offenses text[], p_not_ranked text[] default '{}')
returns table (area text, offences double precision, other_crime double precision,
               enforcement_offences double precision, arrests double precision,
               arrests_other_crime double precision)
language sql stable as $$
select r.areas ->> p_layer as area,
       sum(r.count)::float8,
       coalesce(sum(r.count) filter (where not (r.offense = any(p_enforcement_offenses))), 0)::float8,
       coalesce(sum(r.count) filter (where r.offense = any(p_enforcement_offenses)), 0)::float8,
       coalesce(sum(r.count) filter (where r.arrest), 0)::float8,
       coalesce(sum(r.count) filter (where r.arrest and not (r.offense = any(p_enforcement_offenses))), 0)::float8
from crime_reports r
where r.agency = p_agency and r.occurred_at >= p_from and r.occurred_at < p_to
  and coalesce(r.areas ->> p_layer, '') <> ''
  and not ((r.areas ->> p_layer) = any(p_not_ranked))
group by 1
order by 1
$$;
