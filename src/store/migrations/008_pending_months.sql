-- Months whose summaries (entry_stats_month_hours, entry_stats_monthly) an anonymisation run beside the door
-- has not recomputed yet: refreshed at the end of the run, or by the next run after a crash.
CREATE TABLE retention_pending_months (
  month TEXT PRIMARY KEY
);
