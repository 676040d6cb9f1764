-- TimescaleDB only: applied right after 001_core.sql, in the same transaction, when the
-- timescaledb extension is available.
--
-- Hypertables chunked by week. Compression after 30 days, segmented by agency. No retention
-- on the raw tables: the stored calls are the source of truth for every window, and
-- historical replays (a city's past years) would be dropped by an age-based policy as soon
-- as they were written. Retention applies to the minute aggregate (002).
-- Writes into compressed chunks (a late or replayed record older than 30 days) work with
-- INSERT ... ON CONFLICT since TimescaleDB 2.11, at a cost; replay history before it ages.

create extension if not exists timescaledb;

select create_hypertable('calls', by_range('received_at', interval '7 days'));
select create_hypertable('officer_activity', by_range('occurred_at', interval '7 days'));
select create_hypertable('crime_reports', by_range('occurred_at', interval '30 days'));

alter table calls set (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'agency',
    timescaledb.compress_orderby = 'received_at desc, incident_id'
);
select add_compression_policy('calls', compress_after => interval '30 days');

alter table officer_activity set (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'agency',
    timescaledb.compress_orderby = 'occurred_at desc, activity_id'
);
select add_compression_policy('officer_activity', compress_after => interval '30 days');

alter table crime_reports set (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'agency',
    timescaledb.compress_orderby = 'occurred_at desc, report_id'
);
select add_compression_policy('crime_reports', compress_after => interval '90 days');
