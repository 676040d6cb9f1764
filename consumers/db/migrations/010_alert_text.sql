-- Alerts in a manager's words (issue 18): the sentence a manager reads, the series and the
-- window it covers, the band of normal counts it was judged against, which detector raised it,
-- and the declared event (reference/events/<agency>.yaml) that was on, if any. Columns of the
-- existing table: the grafana_reader grant on `alerts` (008) covers them.
alter table alerts
    add column if not exists series          text             not null default '',
    add column if not exists window_minutes  integer          not null default 0,
    add column if not exists expected_low    double precision,
    add column if not exists detector        text             not null default 'threshold',
    add column if not exists event           text,
    add column if not exists message         text             not null default '';

alter table alerts
    add constraint alerts_detector_check check (detector in ('threshold', 'cusum')),
    add constraint alerts_text_length check (length(message) <= 1000 and length(series) <= 400
                                             and (event is null or length(event) <= 200));

create index if not exists alerts_event on alerts (agency, event) where event is not null;
