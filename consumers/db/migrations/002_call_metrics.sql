-- Call metrics per minute, hour and day, by agency x policy version x route x source x
-- district. On plain PostgreSQL these are views over calls using date_bin; on TimescaleDB
-- 002_call_metrics.timescale.sql replaces them with continuous aggregates of the same name
-- and the same columns (so panels and queries are one surface).
--
-- Buckets are UTC, aligned like time_bucket (origin 2000-01-03 00:00 UTC, a Monday).
-- Calls whose time_precision is 'day' count in the daily metrics only, never in response
-- times. unit_minutes_on_scene = sum over calls of (cleared_at - arrived_at) x units (1
-- when unknown), where both times are present, attributed to the bucket the call was
-- received in. Response times are received_at -> arrived_at in seconds (percentile_cont:
-- TimescaleDB >= 2.7 accepts ordered-set aggregates in continuous aggregates; checked on
-- 2.23 in tests/integration/test_timescale_pglite.py).

create view call_metrics_1m as
select
    date_bin('1 minute', received_at, timestamptz '2000-01-03 00:00:00+00') as bucket,
    agency,
    policy_version,
    route,
    source,
    district,
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
from calls
where time_precision = 'second'
group by 1, 2, 3, 4, 5, 6;

create view call_metrics_1h as
select
    date_bin('1 hour', received_at, timestamptz '2000-01-03 00:00:00+00') as bucket,
    agency,
    policy_version,
    route,
    source,
    district,
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
from calls
where time_precision = 'second'
group by 1, 2, 3, 4, 5, 6;

create view call_metrics_1d as
select
    date_bin('1 day', received_at, timestamptz '2000-01-03 00:00:00+00') as bucket,
    agency,
    policy_version,
    route,
    source,
    district,
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
from calls
group by 1, 2, 3, 4, 5, 6;
