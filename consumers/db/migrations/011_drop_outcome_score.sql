-- The no-police-action score is removed (issue 19, "Learning from dispositions, for real").
--
-- calls.no_police_action_score was meant to hold an online estimate, per call type, of how often
-- a call ends without police action, learned from the final dispositions a city records. It was
-- never computed outside its tests, so every stored row holds null. Evaluated prequentially on
-- every city that records a disposition (`divert outcomes evaluate`: each period scored before
-- it is learned from), the estimate was no better than the running share per call type —
-- community calls, AUC 0.879 against 0.873 (Milwaukee, by day), 0.816 against 0.809 (Seattle,
-- by month); Brier 1% and 2% lower — and not calibrated within 0.05 in Seattle. It did not earn
-- its place, so it is not wired into the worker or `divert load`, and the column goes: a null
-- column invites a panel that reads it as "unknown" forever.
--
-- No view, aggregate or dashboard reads the column. Plain SQL on both flavours: TimescaleDB
-- drops a column of a compressed hypertable that is neither a segmentby nor an orderby column.
-- The dispositions themselves stay in calls.disposition.

alter table calls drop column if exists no_police_action_score;
