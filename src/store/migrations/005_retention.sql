-- Summaries of entry_stats for the dashboard (src/stats), each much smaller than it. A query reads whole
-- months from the monthly tables, whole days from the daily ones, and partial days from the hourly ones.
--   entry_stats_hourly       per local hour, door, outcome          (visits by hour of day)
--   entry_stats_days         per local day, door, outcome           (visits by day and week)
--   entry_stats_daily        per local day, door, mode, outcome, reason   (staffed/staffless, outcomes)
--   entry_stats_month_hours  per month, hour of day, door, outcome
--   entry_stats_monthly      per month, door, mode, outcome, reason
-- src/retention/anonymise.ts recomputes the hours, days and months a batch touched from entry_stats in the
-- same transaction; rebuildStatsSummaries() recomputes everything.

CREATE TABLE entry_stats_hourly (
  day TEXT NOT NULL,              -- local date YYYY-MM-DD
  hour INTEGER NOT NULL,          -- local hour 0-23
  door TEXT NOT NULL,
  outcome TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (day, hour, door, outcome)
) WITHOUT ROWID;

CREATE TABLE entry_stats_days (
  day TEXT NOT NULL,
  door TEXT NOT NULL,
  outcome TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (day, door, outcome)
) WITHOUT ROWID;

CREATE TABLE entry_stats_daily (
  day TEXT NOT NULL,
  door TEXT NOT NULL,
  mode TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (day, door, mode, outcome, reason)
) WITHOUT ROWID;

CREATE TABLE entry_stats_month_hours (
  month TEXT NOT NULL,            -- YYYY-MM
  hour INTEGER NOT NULL,
  door TEXT NOT NULL,
  outcome TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (month, hour, door, outcome)
) WITHOUT ROWID;

CREATE TABLE entry_stats_monthly (
  month TEXT NOT NULL,
  door TEXT NOT NULL,
  mode TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (month, door, mode, outcome, reason)
) WITHOUT ROWID;

INSERT INTO entry_stats_hourly (day, hour, door, outcome, count)
  SELECT day, hour, door, outcome, SUM(count) FROM entry_stats GROUP BY day, hour, door, outcome;
INSERT INTO entry_stats_days (day, door, outcome, count)
  SELECT day, door, outcome, SUM(count) FROM entry_stats GROUP BY day, door, outcome;
INSERT INTO entry_stats_daily (day, door, mode, outcome, reason, count)
  SELECT day, door, mode, outcome, reason, SUM(count) FROM entry_stats GROUP BY day, door, mode, outcome, reason;
INSERT INTO entry_stats_month_hours (month, hour, door, outcome, count)
  SELECT substr(day, 1, 7), hour, door, outcome, SUM(count) FROM entry_stats GROUP BY 1, hour, door, outcome;
INSERT INTO entry_stats_monthly (month, door, mode, outcome, reason, count)
  SELECT substr(day, 1, 7), door, mode, outcome, reason, SUM(count) FROM entry_stats
  GROUP BY 1, door, mode, outcome, reason;

-- Secondary indexes on entries that a bulk anonymisation dropped (src/retention/anonymise.ts) and must
-- recreate; a row here after a crash means "rebuild it" on the next run or at start-up.
CREATE TABLE retention_dropped_indexes (
  name TEXT PRIMARY KEY,
  sql TEXT NOT NULL
) WITHOUT ROWID;

-- Identified entries counted per UTC hour (slot = ts / 1 h), so the dashboard need not aggregate the raw
-- rows. Kept by a trigger on insert (one upsert per swipe) and by src/retention where it deletes entries
-- (per batch, set-wise); src/stats re-derives a range from entries when its totals disagree.
CREATE TABLE entry_live_hourly (
  slot INTEGER NOT NULL,
  door TEXT NOT NULL,
  mode TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (slot, door, mode, outcome, reason)
) WITHOUT ROWID;

INSERT INTO entry_live_hourly (slot, door, mode, outcome, reason, count)
  SELECT CAST(ts AS INTEGER) / 3600000, door, mode, outcome, reason, COUNT(*) FROM entries
  GROUP BY 1, 2, 3, 4, 5;

CREATE TRIGGER entry_live_hourly_insert AFTER INSERT ON entries BEGIN
  INSERT INTO entry_live_hourly (slot, door, mode, outcome, reason, count)
    VALUES (CAST(NEW.ts AS INTEGER) / 3600000, NEW.door, NEW.mode, NEW.outcome, NEW.reason, 1)
    ON CONFLICT (slot, door, mode, outcome, reason) DO UPDATE SET count = count + 1;
END;
