-- Police time by area (issue 17): call_areas carries each call's APCO code, and the view
-- call_area_police_time gives the police unit-hours and dollars of every call_areas row, read
-- from call_areas alone. A panel on some areas (the programs dashboard: the program's areas over
-- two years) joined call_areas to call_police_time (007), i.e. to calls, for the one column
-- call_areas lacked, and read call_areas' rows from the heap: at 5M stored calls, 2-3.5 s per
-- panel (bench/panels.py). Now it reads one range of the partial index below and nothing else.
--
-- call_area_police_time is call_police_time (007) per area row: the same columns (plus layer and
-- area) and the same figures. Measured hours where the call has arrival and clear times, else
-- the model's assumed unit-minutes for the call's APCO code, or for '*' when its code is not
-- listed (or it has none). The lookup is written as two joins on cost_on_scene's key — the
-- code's row and the '*' row — rather than 007's lateral "order by … limit 1": the same row,
-- but a hash join for thousands of calls instead of one index probe each.
--
-- The writer fills apco_code with the call's other area columns (consumers/db/writer.py); the
-- rows stored before this migration get it from their call here.

alter table call_areas add column apco_code text;

-- one hash join of calls' keys and codes (about 100 bytes a call): with the default 4 MB it spills
-- to disk in hundreds of batches (measured: over 20 minutes for 5M calls); set local, so only this
-- migration's transaction gets it
set local work_mem = '1GB';
update call_areas a set apco_code = c.apco_code
from calls c
where c.agency = a.agency and c.incident_id = a.incident_id and c.received_at = a.received_at
  and c.apco_code is not null;

-- The eligible calls' area rows with every column their police time needs, so the police time of
-- some areas' eligible calls is an index-only scan (a few thousand index pages, not the tens of
-- thousands of heap pages their rows lie on among every other call's). Eligible rows only: the
-- police-time panels count eligible calls, and the index stays a fraction of call_areas.
create index call_areas_eligible_police_time on call_areas (agency, layer, area, received_at)
    include (source, route, policy_version, apco_code, arrived_at, cleared_at, units)
    where eligible;

create view call_area_police_time as
select a.agency, a.incident_id, a.received_at, a.layer, a.area, a.time_precision, a.source, a.route,
       a.apco_code, a.eligible_initial, a.eligible, a.policy_version,
       case when m.hours is not null then 'measured'
            when coalesce(code.agency, other.agency) is not null then 'assumed' else 'unknown' end as basis,
       coalesce(m.hours, coalesce(code.unit_minutes_low, other.unit_minutes_low) / 60)           as hours_low,
       coalesce(m.hours, coalesce(code.unit_minutes_central, other.unit_minutes_central) / 60)   as hours,
       coalesce(m.hours, coalesce(code.unit_minutes_high, other.unit_minutes_high) / 60)         as hours_high,
       k.police_hour_low, k.police_hour_central, k.police_hour_high, k.model_version
from call_areas a
cross join lateral (
    select case when a.cleared_at >= a.arrived_at
                then extract(epoch from a.cleared_at - a.arrived_at)::float8 / 3600 * coalesce(a.units, 1)
           end as hours
) m
left join cost_models k on k.agency = a.agency
left join cost_on_scene code on code.agency = a.agency
      and code.officer_initiated = (a.source = 'officer_initiated') and code.apco_code = a.apco_code
left join cost_on_scene other on other.agency = a.agency
      and other.officer_initiated = (a.source = 'officer_initiated') and other.apco_code = '*';

-- readable by the dashboards' login, as 008 grants call_police_time (without the role, nothing is
-- granted: nobody can read)
do $$
begin
    if exists (select from pg_roles where rolname = 'grafana_reader') then
        grant select on call_area_police_time to grafana_reader;
    end if;
end
$$;
