-- On plain PostgreSQL the metric windows become tables (issue 17): the date_bin views of 002
-- aggregated every stored call before a panel's filter applied (0.4-6.5 s per panel over a year
-- of one city). Same names and columns; each is filled here from its view, i.e. from all of
-- call_areas, and from now on the writer recomputes, in each batch's transaction, the buckets
-- that batch touched (consumers/db/metrics.py renders that refresh, the views and the
-- continuous aggregates from one definition).
--
-- On TimescaleDB the windows are continuous aggregates (002_call_metrics.timescale.sql) and stay.
--
-- Indexed by what every panel filters on (agency, layer, area) and then time; the writer's
-- refresh finds a bucket's rows the same way. Not a unique key: its four text columns more would
-- make each batch's refresh a third slower, and one writer at a time refreshes an agency.
-- Readable by grafana_reader as the views were (008_least_privilege.sql).
do $$
declare
    width text;
    window_name text;
begin
    if exists (select from pg_extension where extname = 'timescaledb') then
        return;
    end if;
    foreach width in array array['1m', '1h', '1d'] loop
        window_name := 'call_metrics_' || width;
        execute format('create table %I as select * from %I', window_name || '_table', window_name);
        execute format('drop view %I', window_name);
        execute format('alter table %I rename to %I', window_name || '_table', window_name);
        execute format('create index %I on %I (agency, layer, area, bucket)',
                       window_name || '_agency_layer_area_bucket', window_name);
        if exists (select from pg_roles where rolname = 'grafana_reader') then
            execute format('grant select on %I to grafana_reader', window_name);
        end if;
    end loop;
end
$$;
