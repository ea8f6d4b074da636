-- The branch's anonymous hourly figures on their way to the fleet centre (src/fleet, docs/fleet.md).
-- An hour is sent whole (every entry_stats row plus the not-yet-anonymised live counts of that local hour);
-- when it changes later (late anonymisation, a late swipe) a new revision is queued and the older unsent one
-- is superseded. A row stays until the centre acknowledges its id, so nothing is lost while the bridge is down.

CREATE TABLE fleet_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused: the centre deduplicates by (site, instance-id)
  day TEXT NOT NULL,                      -- local date YYYY-MM-DD
  hour INTEGER NOT NULL,                  -- local hour 0-23
  payload TEXT NOT NULL,                  -- the FleetFigures message as sent (JSON)
  made_at INTEGER NOT NULL,
  tries INTEGER NOT NULL DEFAULT 0,
  last_sent_at INTEGER,
  next_try_at INTEGER NOT NULL,
  acked_at INTEGER,
  superseded_at INTEGER
);
CREATE INDEX fleet_outbox_due ON fleet_outbox (next_try_at) WHERE acked_at IS NULL AND superseded_at IS NULL;

-- What was last queued per hour: a digest of its rows, so an unchanged hour is not sent again.
CREATE TABLE fleet_hours (
  day TEXT NOT NULL,
  hour INTEGER NOT NULL,
  digest TEXT NOT NULL,
  outbox_id INTEGER NOT NULL,
  PRIMARY KEY (day, hour)
) WITHOUT ROWID;

-- instance: a random name for this store, so a rebuilt store's ids never collide with an earlier one's at the
-- centre; backfill_day: how far the walk through older history has come.
CREATE TABLE fleet_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO fleet_state (key, value) VALUES ('instance', lower(hex(randomblob(6))));
