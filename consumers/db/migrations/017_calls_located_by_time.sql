-- The neighbourhoods dashboard's maps (issue 17) place each area at the centre of its located
-- calls in the time range: every call of the range (58k in San Antonio's last 90 days) was read
-- from the heap for its position and areas. The index every read of an agency's calls by time
-- goes through now carries those columns, so the maps read the range from the index alone.
-- "Divergence on the map" (bench/panels.py, 717k calls, p50/p95 ms at load ~2): layer city
-- 44/56 -> 15/21, layer district 82/86 -> 33/45; at load ~6 it had taken 124/144. The price is a
-- wider index to maintain: the store hop's server CPU for 30,000 calls went 8.4-8.5 s -> 9.0-9.2 s.
create index calls_agency_received_at_located on calls (agency, received_at desc) include (lat, lon, areas);
drop index calls_agency_received_at;
alter index calls_agency_received_at_located rename to calls_agency_received_at;
