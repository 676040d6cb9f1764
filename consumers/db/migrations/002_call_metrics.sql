-- Call metrics per minute, hour and day, by agency x policy version x area layer x area x
-- route x source: every area layer a city has (beat, district, substation, ...) plus the
-- whole city as layer 'city', area 'all'.
--
-- call_areas holds one row per stored call per area it lies in (the writer keeps it in step
-- with calls, in the same transaction), with the call's fields the metrics need. Windows are
-- derived from these stored rows, never kept by the stream: on plain PostgreSQL the metrics
-- are views using date_bin; on TimescaleDB 002_call_metrics.timescale.sql replaces them with
-- real-time continuous aggregates of the same names and columns (a continuous aggregate can
-- group by a column, not by the keys of a jsonb, hence the exploded table).
--
-- Buckets are UTC, aligned like time_bucket (origin 2000-01-03 00:00 UTC, a Monday).
-- Calls whose time_precision is 'day' count in the daily metrics only, never in response
-- times. unit_minutes_on_scene = sum over calls of (cleared_at - arrived_at) x units (1
-- when unknown), where both times are present, attributed to the bucket the call was
-- received in. Response times are received_at -> arrived_at in seconds.

create table call_areas (
    agency            text         not null,
    incident_id       text         not null,
    received_at       timestamptz  not null,
    layer             text         not null check (layer <> ''),
    area              text         not null,
    policy_version    text         not null,
    route             text         not null,
    source            text         not null,
    time_precision    text         not null,
    eligible_initial  boolean      not null,
    eligible          boolean      not null,
    arrived_at        timestamptz,
    cleared_at        timestamptz,
    units             integer,
    primary key (agency, incident_id, layer, received_at)
);
create index call_areas_agency_layer_received_at on call_areas (agency, layer, area, received_at desc);

create view call_metrics_1m as
select
    date_bin('1 minute', received_at, timestamptz '2000-01-03 00:00:00+00') as bucket,
    agency,
    policy_version,
    layer,
    area,
    route,
    source,
    count(*)                                                         as calls,
    count(*) filter (where eligible_initial)                         as eligible_initial,
    count(*) filter (where eligible)                                 as eligible,
    count(*) filter (where source = 'officer_initiated')             as officer_initiated,
    count(*) filter (where time_precision = 'second' and arrived_at >= received_at)
                                                                     as responded,
    sum(extract(epoch from cleared_at - arrived_at)::double precision / 60
        * coalesce(units, 1)) filter (where cleared_at >= arrived_at)
                                                                     as unit_minutes_on_scene,
    percentile_cont(0.5) within group (
        order by extract(epoch from arrived_at - received_at)::double precision)
        filter (where time_precision = 'second' and arrived_at >= received_at)
                                                                     as response_p50_seconds,
    percentile_cont(0.9) within group (
        order by extract(epoch from arrived_at - received_at)::double precision)
        filter (where time_precision = 'second' and arrived_at >= received_at)
                                                                     as response_p90_seconds
from call_areas
where time_precision = 'second'
group by 1, 2, 3, 4, 5, 6, 7;

create view call_metrics_1h as
select
    date_bin('1 hour', received_at, timestamptz '2000-01-03 00:00:00+00') as bucket,
    agency,
    policy_version,
    layer,
    area,
    route,
    source,
    count(*)                                                         as calls,
    count(*) filter (where eligible_initial)                         as eligible_initial,
    count(*) filter (where eligible)                                 as eligible,
    count(*) filter (where source = 'officer_initiated')             as officer_initiated,
    count(*) filter (where time_precision = 'second' and arrived_at >= received_at)
                                                                     as responded,
    sum(extract(epoch from cleared_at - arrived_at)::double precision / 60
        * coalesce(units, 1)) filter (where cleared_at >= arrived_at)
                                                                     as unit_minutes_on_scene,
    percentile_cont(0.5) within group (
        order by extract(epoch from arrived_at - received_at)::double precision)
        filter (where time_precision = 'second' and arrived_at >= received_at)
                                                                     as response_p50_seconds,
    percentile_cont(0.9) within group (
        order by extract(epoch from arrived_at - received_at)::double precision)
        filter (where time_precision = 'second' and arrived_at >= received_at)
                                                                     as response_p90_seconds
from call_areas
where time_precision = 'second'
group by 1, 2, 3, 4, 5, 6, 7;

create view call_metrics_1d as
select
    date_bin('1 day', received_at, timestamptz '2000-01-03 00:00:00+00') as bucket,
    agency,
    policy_version,
    layer,
    area,
    route,
    source,
    count(*)                                                         as calls,
    count(*) filter (where eligible_initial)                         as eligible_initial,
    count(*) filter (where eligible)                                 as eligible,
    count(*) filter (where source = 'officer_initiated')             as officer_initiated,
    count(*) filter (where time_precision = 'second' and arrived_at >= received_at)
                                                                     as responded,
    sum(extract(epoch from cleared_at - arrived_at)::double precision / 60
        * coalesce(units, 1)) filter (where cleared_at >= arrived_at)
                                                                     as unit_minutes_on_scene,
    percentile_cont(0.5) within group (
        order by extract(epoch from arrived_at - received_at)::double precision)
        filter (where time_precision = 'second' and arrived_at >= received_at)
                                                                     as response_p50_seconds,
    percentile_cont(0.9) within group (
        order by extract(epoch from arrived_at - received_at)::double precision)
        filter (where time_precision = 'second' and arrived_at >= received_at)
                                                                     as response_p90_seconds
from call_areas
group by 1, 2, 3, 4, 5, 6, 7;
