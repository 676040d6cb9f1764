-- Enforcement, reported crime and their divergence by area and window (issue 6).
-- The pure twin of every function here is in divert/divergence.py and divert/officer_activity.py;
-- tests check that both give the same figures. Windows use date_bin, never time_bucket.

-- Enforcement events: officer-initiated calls, plus officer activity that no stored call
-- carries (a stop feed separate from CAD). An activity emitted from a call (same id) is the
-- call; its outcomes come along. Several stored versions of one activity (a city publishing
-- the date first and the time later) count once: the latest.
create view enforcement_events as
select c.agency,
       c.incident_id                              as event_id,
       c.received_at                              as occurred_at,
       c.time_precision,
       c.initial_type                             as activity_type,
       c.areas,
       coalesce((select array_agg(distinct o) from officer_activity a, unnest(a.outcomes) o
                 where a.agency = c.agency and a.activity_id = c.incident_id), '{}') as outcomes,
       'call'::text                               as origin
from calls c
where c.source = 'officer_initiated'
union all
select * from (
    select distinct on (a.agency, a.activity_id)
           a.agency, a.activity_id, a.occurred_at, 'second'::text, a.activity_type, a.areas,
           a.outcomes, 'officer_activity'::text
    from officer_activity a
    where not exists (select 1 from calls c
                      where c.agency = a.agency
                        and c.incident_id = coalesce(a.incident_id, a.activity_id))
    order by a.agency, a.activity_id, a.occurred_at desc
) only_activity;

-- Enforcement and (optionally harm-weighted) reported crime per window x area of one layer,
-- with shares, the location quotient and the window's dissimilarity index.
--   windows: [p_from + k*step, + width) while the start < p_to, cut at p_to; width and step
--            default to one window over [p_from, p_to); width must be a multiple of step.
--            Both are taken as fixed durations (seconds), so DST never stretches a window.
--   crime:   a report published as a count over a period (period_end) is spread evenly over
--            it; a window gets count x the share of the period it overlaps.
--   harm:    p_harm maps offence (else category) -> weight; unlisted offences weigh
--            p_harm_default; null p_harm = plain counts. crime_variance = sum of count x w^2.
--   p_restrict 'both' keeps only areas with enforcement and crime in the window (a source
--            that covers part of the city); 'union' keeps every area with either.
--   lq is null for an area with enforcement and no reported crime (the core reports inf).
create function area_divergence(
    p_agency text, p_layer text, p_from timestamptz, p_to timestamptz,
    p_width interval default null, p_step interval default null,
    p_harm jsonb default null, p_harm_default double precision default 1,
    p_include_arrests boolean default false, p_restrict text default 'union')
returns table (window_start timestamptz, window_end timestamptz, area text,
               enforcement double precision, crime double precision,
               crime_variance double precision, enforcement_share double precision,
               crime_share double precision, lq double precision,
               dissimilarity double precision)
language sql stable as $$
with params as (
    select make_interval(secs => extract(epoch from coalesce(p_width, p_to - p_from))) as width,
           make_interval(secs => extract(epoch from coalesce(p_step, p_width, p_to - p_from))) as step
),
windows as (
    select ws as window_start, least(ws + p.width, p_to) as window_end
    from params p, generate_series(p_from, p_to - interval '1 microsecond', p.step) as ws
),
events as (
    select e.occurred_at, e.areas ->> p_layer as area
    from enforcement_events e
    where e.agency = p_agency and e.occurred_at >= p_from and e.occurred_at < p_to
      and coalesce(e.areas ->> p_layer, '') <> ''
    union all
    select r.occurred_at, r.areas ->> p_layer
    from crime_reports r
    where p_include_arrests and r.arrest and r.agency = p_agency
      and r.occurred_at >= p_from and r.occurred_at < p_to
      and coalesce(r.areas ->> p_layer, '') <> ''
),
bins as (
    select date_bin(p.step, ev.occurred_at, p_from) as bin, ev.area, count(*)::float8 as n
    from events ev, params p
    group by 1, 2
),
enf as (
    select w.window_start, w.window_end, b.area, sum(b.n) as enforcement
    from windows w join bins b on b.bin >= w.window_start and b.bin < w.window_end
    group by 1, 2, 3
),
crime as (
    select w.window_start, w.window_end, r.areas ->> p_layer as area,
           sum(r.count * x.weight * x.frac) as crime,
           sum(r.count * x.weight * x.weight * x.frac) as crime_variance
    from windows w
    join crime_reports r
      on r.agency = p_agency and coalesce(r.areas ->> p_layer, '') <> ''
     and r.occurred_at < w.window_end
     and greatest(r.period_end, r.occurred_at) >= w.window_start
    cross join lateral (
        select case
                 when r.period_end is null or r.period_end <= r.occurred_at
                   then (r.occurred_at >= w.window_start and r.occurred_at < w.window_end)::int::float8
                 else greatest(0, extract(epoch from least(r.period_end, w.window_end)
                                                   - greatest(r.occurred_at, w.window_start)))
                      / extract(epoch from r.period_end - r.occurred_at)
               end as frac,
               case when p_harm is null then 1::float8
                    else coalesce((p_harm ->> r.offense)::float8, (p_harm ->> r.category)::float8,
                                  p_harm_default)
               end as weight
    ) x
    group by 1, 2, 3
),
joined as (
    select coalesce(e.window_start, c.window_start) as window_start,
           coalesce(e.window_end, c.window_end)     as window_end,
           coalesce(e.area, c.area)                 as area,
           coalesce(e.enforcement, 0)::float8       as enforcement,
           coalesce(c.crime, 0)::float8             as crime,
           coalesce(c.crime_variance, 0)::float8    as crime_variance
    from enf e full join crime c
      on c.window_start = e.window_start and c.area = e.area
),
kept as (
    select * from joined
    where (enforcement > 0 or crime > 0)
      and (p_restrict = 'union' or (enforcement > 0 and crime > 0))
),
shares as (
    select k.*,
           k.enforcement / nullif(sum(k.enforcement) over w, 0) as enforcement_share,
           k.crime / nullif(sum(k.crime) over w, 0)             as crime_share
    from kept k
    window w as (partition by k.window_start)
)
select s.window_start, s.window_end, s.area, s.enforcement, s.crime, s.crime_variance,
       s.enforcement_share, s.crime_share,
       s.enforcement_share / nullif(s.crime_share, 0) as lq,
       0.5 * sum(abs(s.enforcement_share - s.crime_share)) over (partition by s.window_start)
           as dissimilarity
from shares s
order by s.window_start, s.area
$$;

-- Officer-initiated work against all police work, grouped by one dimension:
--   p_by 'type' (the initial call type), 'hour' (hour of week in p_tz, 0 = Monday 00:00;
--   calls known only to the day are left out of this grouping), 'area' (layer p_layer),
--   or 'all'. unit_minutes = (cleared_at - arrived_at) x units (1 when unknown) where both
--   times are recorded; *_timed counts the calls that have them. Officer activity that no
--   stored call carries counts as officer-initiated, with no unit time.
create function officer_initiated_summary(
    p_agency text, p_from timestamptz, p_to timestamptz, p_by text,
    p_layer text default 'beat', p_tz text default 'UTC')
returns table (grp text, calls bigint, officer_initiated bigint, calls_timed bigint,
               officer_initiated_timed bigint, unit_minutes double precision,
               officer_initiated_unit_minutes double precision)
language sql stable as $$
with work as (
    select c.source = 'officer_initiated' as oi, c.initial_type as type, c.received_at,
           c.time_precision, c.areas,
           case when c.cleared_at >= c.arrived_at
                then extract(epoch from c.cleared_at - c.arrived_at) / 60 * coalesce(c.units, 1)
           end as unit_minutes
    from calls c
    where c.agency = p_agency and c.received_at >= p_from and c.received_at < p_to
    union all
    select true, e.activity_type, e.occurred_at, e.time_precision, e.areas, null::float8
    from enforcement_events e
    where e.origin = 'officer_activity' and e.agency = p_agency
      and e.occurred_at >= p_from and e.occurred_at < p_to
),
grouped as (
    select case p_by
             when 'type' then type
             when 'area' then coalesce(nullif(areas ->> p_layer, ''), '(no ' || p_layer || ')')
             when 'hour' then case when time_precision = 'second' then
                 lpad(((extract(isodow from received_at at time zone p_tz)::int - 1) * 24
                       + extract(hour from received_at at time zone p_tz)::int)::text, 3, '0') end
             else 'all'
           end as grp, w.*
    from work w
)
select grp, count(*), count(*) filter (where oi),
       count(unit_minutes), count(unit_minutes) filter (where oi),
       coalesce(sum(unit_minutes), 0)::float8,
       coalesce(sum(unit_minutes) filter (where oi), 0)::float8
from grouped
where grp is not null
group by grp
order by grp
$$;
