-- divert's tables, in plain PostgreSQL (>= 14). The same query surface everywhere: shared
-- queries bucket time with date_bin, never time_bucket. 001_core.timescale.sql turns the
-- time-keyed tables into hypertables where the timescaledb extension is available.
--
-- Natural keys include the time column, because a hypertable's unique keys must include it;
-- writers upsert on them (INSERT ... ON CONFLICT), so a replayed record is stored once.
-- Privacy: no column holds a caller's name or phone number, and addresses are block-level
-- (the CHECKs use schemas.records.BLOCK_ADDRESS_PATTERN; a unit test compares them).

create table calls (
    -- the CadEvent, as dispatch recorded it
    schema_version        integer      not null default 1,
    agency                text         not null check (agency <> ''),
    incident_id           text         not null check (incident_id <> ''),
    source                text         not null
        check (source in ('911', 'non_emergency', 'officer_initiated', 'alarm', 'other')),
    initial_type          text         not null,
    final_type            text,
    priority              integer,
    received_at           timestamptz  not null,
    -- 'day' when the city publishes only the date: such calls count in daily windows only,
    -- and never in response times
    time_precision        text         not null default 'second'
        check (time_precision in ('second', 'day')),
    dispatched_at         timestamptz,
    arrived_at            timestamptz,
    cleared_at            timestamptz,
    units                 integer      check (units >= 0),
    disposition           text,
    block_address         text
        check (block_address ~ '^(?:\d*00 BLOCK |0 BLOCK |\d+(?:ST|ND|RD|TH) |[^0-9])'
               and length(block_address) <= 200),
    areas                 jsonb        not null default '{}'::jsonb
        check (jsonb_typeof(areas) = 'object'),
    -- area layers extracted from areas, for fast filters and grouping
    beat                  text         generated always as (areas ->> 'beat') stored,
    district              text         generated always as (areas ->> 'district') stored,
    lat                   double precision check (lat between -90 and 90),
    lon                   double precision check (lon between -180 and 180),
    -- the classification (ClassifiedCall)
    apco_code             text,
    crosswalk_confidence  double precision not null check (crosswalk_confidence between 0 and 1),
    route                 text         not null
        check (route in ('crisis', 'navigator', 'co_response', 'police', 'ems_fire',
                         'officer_initiated', 'admin')),
    eligible_initial      boolean      not null,
    eligible              boolean      not null,
    reasons               text[]       not null default '{}',
    policy_version        text         not null check (policy_version <> ''),
    final_apco_code       text,
    final_route           text
        check (final_route in ('crisis', 'navigator', 'co_response', 'police', 'ems_fire',
                               'officer_initiated', 'admin')),
    no_police_action_score double precision check (no_police_action_score between 0 and 1),
    ingested_at           timestamptz  not null default now(),
    committed_at          timestamptz  not null default now(),
    primary key (agency, incident_id, received_at)
);
create index calls_agency_received_at on calls (agency, received_at desc);
create index calls_agency_district_received_at on calls (agency, district, received_at desc);
create index calls_agency_route_received_at on calls (agency, route, received_at desc);

create table officer_activity (
    schema_version  integer      not null default 1,
    agency          text         not null check (agency <> ''),
    activity_id     text         not null check (activity_id <> ''),
    occurred_at     timestamptz  not null,
    activity_type   text         not null,
    reason          text,
    outcomes        text[]       not null default '{}'
        check (outcomes <@ array['warning', 'citation', 'arrest', 'search', 'contraband_found']),
    areas           jsonb        not null default '{}'::jsonb
        check (jsonb_typeof(areas) = 'object'),
    beat            text         generated always as (areas ->> 'beat') stored,
    district        text         generated always as (areas ->> 'district') stored,
    block_address   text
        check (block_address ~ '^(?:\d*00 BLOCK |0 BLOCK |\d+(?:ST|ND|RD|TH) |[^0-9])'
               and length(block_address) <= 200),
    lat             double precision check (lat between -90 and 90),
    lon             double precision check (lon between -180 and 180),
    -- the stop's subject demographics (schemas.records.Demographics), as the city recorded them
    subject_race        text,
    subject_ethnicity   text,
    subject_sex         text,
    subject_age_group   text,
    incident_id     text,
    ingested_at     timestamptz  not null default now(),
    committed_at    timestamptz  not null default now(),
    primary key (agency, activity_id, occurred_at)
);
create index officer_activity_agency_occurred_at on officer_activity (agency, occurred_at desc);
create index officer_activity_agency_district_occurred_at
    on officer_activity (agency, district, occurred_at desc);

create table crime_reports (
    schema_version  integer      not null default 1,
    agency          text         not null check (agency <> ''),
    report_id       text         not null check (report_id <> ''),
    occurred_at     timestamptz  not null,
    -- set when the city publishes counts over a period rather than single reports
    period_end      timestamptz,
    offense         text         not null,
    category        text         not null,
    count           integer      not null default 1 check (count >= 0),
    arrest          boolean,
    areas           jsonb        not null default '{}'::jsonb
        check (jsonb_typeof(areas) = 'object'),
    beat            text         generated always as (areas ->> 'beat') stored,
    district        text         generated always as (areas ->> 'district') stored,
    lat             double precision check (lat between -90 and 90),
    lon             double precision check (lon between -180 and 180),
    ingested_at     timestamptz  not null default now(),
    committed_at    timestamptz  not null default now(),
    primary key (agency, report_id, occurred_at)
);
create index crime_reports_agency_occurred_at on crime_reports (agency, occurred_at desc);
create index crime_reports_agency_district_occurred_at
    on crime_reports (agency, district, occurred_at desc);

-- Every input record that could not be made canonical, with the field and the reason.
-- A dead letter delivered twice is stored once: its identity is the source topic and a
-- fingerprint of the payload, not a broker offset, because the embedded broker restarts
-- with no records and reuses offsets (ARCHITECTURE.md). Two byte-identical bad records on
-- one topic are one dead letter.
-- Write with: INSERT ... ON CONFLICT (source_topic, fingerprint) DO NOTHING.
create table dead_letters (
    id              bigserial    primary key,
    schema_version  integer      not null default 1,
    source_topic    text         not null,
    agency          text,
    record_id       text,
    field           text,
    reason          text         not null,
    detail          text         not null,
    payload         text         not null,
    fingerprint     text         generated always as (md5(payload)) stored,
    failed_at       timestamptz  not null,
    partition       integer,
    "offset"        bigint,
    -- the record's position in a message that carried a batch (JSON array) of records
    item            integer      not null default 0,
    committed_at    timestamptz  not null default now(),
    constraint dead_letters_payload_key unique (source_topic, fingerprint)
);
create index dead_letters_agency_failed_at on dead_letters (agency, failed_at desc);
create index dead_letters_reason on dead_letters (reason);

-- Diversion-eligible volume above its expected bound (schemas.records.Alert); one row per
-- state change of an alert, stored once however often it is replayed.
create table alerts (
    id              bigserial    primary key,
    schema_version  integer      not null default 1,
    alert_id        text         not null,
    agency          text         not null,
    area_layer      text         not null,
    area            text         not null,
    route           text         not null,
    state           text         not null check (state in ('firing', 'resolved')),
    window_start    timestamptz  not null,
    window_end      timestamptz  not null,
    observed        double precision not null,
    expected        double precision not null,
    upper_bound     double precision not null,
    score           double precision not null,
    policy_version  text         not null,
    created_at      timestamptz  not null default now(),
    constraint alerts_state_key unique (alert_id, state, window_start)
);
create index alerts_agency_window_start on alerts (agency, window_start desc);

-- Reallocation programs (a crisis team, a navigator service) whose before/after is evaluated.
create table programs (
    id              bigserial    primary key,
    name            text         not null unique,
    agency          text,
    description     text,
    start           timestamptz  not null,
    areas           text[]       not null default '{}',
    routes          text[]       not null default '{}',
    created_at      timestamptz  not null default now()
);
