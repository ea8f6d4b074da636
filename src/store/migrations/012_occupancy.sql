-- Passages through a door seen by a people counter (src/occupancy): anonymous counts per local hour, door and
-- the schedule's mode at the passage. Kept for statistics like entry_stats; never holds identity.
CREATE TABLE passages_hourly (
  day TEXT NOT NULL,              -- local date YYYY-MM-DD
  hour INTEGER NOT NULL,          -- local hour 0-23
  door TEXT NOT NULL,
  mode TEXT NOT NULL,             -- schedule state at the passage: staffed, staffless, closed
  passages_in INTEGER NOT NULL DEFAULT 0,
  passages_out INTEGER NOT NULL DEFAULT 0,
  tailgating INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, hour, door, mode)
) WITHOUT ROWID;
