-- "Inside now" for the building from its people counters (src/occupancy), so a restart keeps the count.
-- One row; only a number: no identity, no history (history is passages_hourly).
CREATE TABLE occupancy_now (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  inside INTEGER NOT NULL DEFAULT 0 CHECK (inside >= 0),
  updated_at INTEGER NOT NULL,    -- epoch ms of the last change
  reset_day TEXT                  -- local date YYYY-MM-DD of the last nightly reset
);
