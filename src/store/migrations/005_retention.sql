-- Statistics roll-up for the dashboard (src/stats): entry_stats without category and age band, several
-- times fewer rows. src/retention/anonymise.ts writes both tables in the same transaction (a trigger per
-- entry_stats row cost a third of the anonymisation time); rebuildStatsRollup() recomputes it.

CREATE TABLE entry_stats_rollup (
  day TEXT NOT NULL,              -- local date YYYY-MM-DD
  hour INTEGER NOT NULL,          -- local hour 0-23
  door TEXT NOT NULL,
  mode TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (day, hour, door, mode, outcome, reason)
) WITHOUT ROWID;

INSERT INTO entry_stats_rollup (day, hour, door, mode, outcome, reason, count)
  SELECT day, hour, door, mode, outcome, reason, SUM(count) FROM entry_stats
  GROUP BY day, hour, door, mode, outcome, reason;

-- Secondary indexes on entries that a bulk anonymisation dropped (src/retention/anonymise.ts) and must
-- recreate; a row here after a crash means "rebuild it" on the next run or at start-up.
CREATE TABLE retention_dropped_indexes (
  name TEXT PRIMARY KEY,
  sql TEXT NOT NULL
) WITHOUT ROWID;
