-- The area values of a program's layer that name no place (a dispatch channel, "outside area",
-- an information line: the city mapping's `non_geographic`), recorded with the program by
-- `divert program add`, so the program dashboard's "untreated areas" line leaves them out as
-- `divert evaluate` does. grafana_reader already reads programs (008).
alter table programs add column if not exists not_compared text[] not null default '{}';
