-- Block-level addresses hold no house number anywhere (issue 16, "Nothing lost, nothing
-- leaked"). 001_core's CHECKs looked at the first character only, so "#5237 N 35TH ST" or
-- "N0 IH 10 W" passed; these CHECKs use schemas.records.BLOCK_ADDRESS_PATTERN verbatim (a
-- unit test compares them): the only tokens that may hold a digit are a hundred block
-- ("5200 BLOCK"), an ordinal ("35TH") and a route number after a route word ("LOOP 410").
--
-- The new CHECKs are added validated, not NOT VALID: a row stored under the old CHECK whose
-- address the new pattern refuses may hold a house number, and keeping it would keep the leak.
-- Its address is removed (set to null; the call itself stays), then the CHECKs are replaced.
-- `divert replay --restart` (or `divert load`) writes such calls again with the block-level
-- address today's adapter makes of them: the writes are keyed upserts.
--
-- Plain SQL on both flavours: on TimescaleDB (>= 2.20, the compose file pins 2.23) updates
-- reach compressed chunks and an added CHECK is validated on them too.

update calls set block_address = null
 where block_address !~ '^[ /&@,;()-]*(?:[^\d /&@,;()-]+|\d{1,3}(?:ST|ND|RD|TH)|(?:\d*00|0) BLOCK|(?:IH|I|INTERSTATE|US|HWY|HY|HIGHWAY|LOOP|LP|FM|SH|SR|STHY|RT|RTE|ROUTE|STATE|CR|COUNTY ROAD|COUNTY RD|CO RD|SPUR|BUS|BUSINESS|PR)[ -]\d{1,4}[A-Z]?)(?:[ /&@,;()-]+(?:[^\d /&@,;()-]+|\d{1,3}(?:ST|ND|RD|TH)|(?:\d*00|0) BLOCK|(?:IH|I|INTERSTATE|US|HWY|HY|HIGHWAY|LOOP|LP|FM|SH|SR|STHY|RT|RTE|ROUTE|STATE|CR|COUNTY ROAD|COUNTY RD|CO RD|SPUR|BUS|BUSINESS|PR)[ -]\d{1,4}[A-Z]?))*[ /&@,;()-]*$';
update officer_activity set block_address = null
 where block_address !~ '^[ /&@,;()-]*(?:[^\d /&@,;()-]+|\d{1,3}(?:ST|ND|RD|TH)|(?:\d*00|0) BLOCK|(?:IH|I|INTERSTATE|US|HWY|HY|HIGHWAY|LOOP|LP|FM|SH|SR|STHY|RT|RTE|ROUTE|STATE|CR|COUNTY ROAD|COUNTY RD|CO RD|SPUR|BUS|BUSINESS|PR)[ -]\d{1,4}[A-Z]?)(?:[ /&@,;()-]+(?:[^\d /&@,;()-]+|\d{1,3}(?:ST|ND|RD|TH)|(?:\d*00|0) BLOCK|(?:IH|I|INTERSTATE|US|HWY|HY|HIGHWAY|LOOP|LP|FM|SH|SR|STHY|RT|RTE|ROUTE|STATE|CR|COUNTY ROAD|COUNTY RD|CO RD|SPUR|BUS|BUSINESS|PR)[ -]\d{1,4}[A-Z]?))*[ /&@,;()-]*$';

alter table calls drop constraint calls_block_address_check;
alter table calls add constraint calls_block_address_check
    check (block_address ~ '^[ /&@,;()-]*(?:[^\d /&@,;()-]+|\d{1,3}(?:ST|ND|RD|TH)|(?:\d*00|0) BLOCK|(?:IH|I|INTERSTATE|US|HWY|HY|HIGHWAY|LOOP|LP|FM|SH|SR|STHY|RT|RTE|ROUTE|STATE|CR|COUNTY ROAD|COUNTY RD|CO RD|SPUR|BUS|BUSINESS|PR)[ -]\d{1,4}[A-Z]?)(?:[ /&@,;()-]+(?:[^\d /&@,;()-]+|\d{1,3}(?:ST|ND|RD|TH)|(?:\d*00|0) BLOCK|(?:IH|I|INTERSTATE|US|HWY|HY|HIGHWAY|LOOP|LP|FM|SH|SR|STHY|RT|RTE|ROUTE|STATE|CR|COUNTY ROAD|COUNTY RD|CO RD|SPUR|BUS|BUSINESS|PR)[ -]\d{1,4}[A-Z]?))*[ /&@,;()-]*$'
           and length(block_address) <= 200);

alter table officer_activity drop constraint officer_activity_block_address_check;
alter table officer_activity add constraint officer_activity_block_address_check
    check (block_address ~ '^[ /&@,;()-]*(?:[^\d /&@,;()-]+|\d{1,3}(?:ST|ND|RD|TH)|(?:\d*00|0) BLOCK|(?:IH|I|INTERSTATE|US|HWY|HY|HIGHWAY|LOOP|LP|FM|SH|SR|STHY|RT|RTE|ROUTE|STATE|CR|COUNTY ROAD|COUNTY RD|CO RD|SPUR|BUS|BUSINESS|PR)[ -]\d{1,4}[A-Z]?)(?:[ /&@,;()-]+(?:[^\d /&@,;()-]+|\d{1,3}(?:ST|ND|RD|TH)|(?:\d*00|0) BLOCK|(?:IH|I|INTERSTATE|US|HWY|HY|HIGHWAY|LOOP|LP|FM|SH|SR|STHY|RT|RTE|ROUTE|STATE|CR|COUNTY ROAD|COUNTY RD|CO RD|SPUR|BUS|BUSINESS|PR)[ -]\d{1,4}[A-Z]?))*[ /&@,;()-]*$'
           and length(block_address) <= 200);
