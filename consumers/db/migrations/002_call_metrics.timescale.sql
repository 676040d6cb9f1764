-- TimescaleDB only: applied right after 002_call_metrics.sql, in the same transaction.
-- call_areas becomes a hypertable, and the date_bin views are replaced with continuous
-- aggregates of the same names and columns.
--
-- Real-time (materialized_only = false): rows newer than the last refresh are aggregated
-- from call_areas at query time, so live panels see every committed call. Created WITH NO
-- DATA (WITH DATA cannot run in a transaction); the refresh policies fill them. Hourly and
-- daily policies refresh from the beginning (start_offset NULL): only invalidated ranges are
-- recomputed, so a historical replay appears after the next run. To see it at once:
-- CALL refresh_continuous_aggregate('call_metrics_1h', <from>, <to>); (outside a
-- transaction). Minute buckets are kept 30 days (retention policy).

select create_hypertable('call_areas', by_range('received_at', interval '7 days'));
alter table call_areas set (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'agency, layer',
    timescaledb.compress_orderby = 'received_at desc, incident_id'
);
select add_compression_policy('call_areas', compress_after => interval '30 days');

drop view call_metrics_1m;
create materialized view call_metrics_1m
with (timescaledb.continuous, timescaledb.materialized_only = false) as
select
    time_bucket('1 minute', received_at) as bucket,
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
group by 1, 2, 3, 4, 5, 6, 7
with no data;

drop view call_metrics_1h;
create materialized view call_metrics_1h
with (timescaledb.continuous, timescaledb.materialized_only = false) as
select
    time_bucket('1 hour', received_at) as bucket,
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
group by 1, 2, 3, 4, 5, 6, 7
with no data;

drop view call_metrics_1d;
create materialized view call_metrics_1d
with (timescaledb.continuous, timescaledb.materialized_only = false) as
select
    time_bucket('1 day', received_at) as bucket,
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
group by 1, 2, 3, 4, 5, 6, 7
with no data;

select add_continuous_aggregate_policy('call_metrics_1m',
    start_offset => interval '3 days', end_offset => interval '1 minute',
    schedule_interval => interval '1 minute');
select add_continuous_aggregate_policy('call_metrics_1h',
    start_offset => null, end_offset => interval '1 hour',
    schedule_interval => interval '15 minutes');
select add_continuous_aggregate_policy('call_metrics_1d',
    start_offset => null, end_offset => interval '1 day',
    schedule_interval => interval '1 hour');

select add_retention_policy('call_metrics_1m', drop_after => interval '30 days');
