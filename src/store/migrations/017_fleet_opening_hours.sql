-- The branch's opening hours for the fleet centre's national report (src/fleet/opening.ts, docs/fleet.md).
-- fleet_outbox carries them too: kind 'opening' is one ISO week (day = its Monday, hour = 0), sent on
-- <base>/fleet/opening-hours; kind 'figures' is an hour's figures, as before.
ALTER TABLE fleet_outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'figures';

-- Staffed and staffless hours per local day, computed from the door's day plans while the day had not ended;
-- an ended day keeps what was computed last (the plans move on, the hours it was open do not).
CREATE TABLE fleet_opening (
  day TEXT PRIMARY KEY,
  week TEXT NOT NULL,                     -- ISO week YYYY-Www
  staffed REAL NOT NULL,                  -- hours
  staffless REAL NOT NULL
) WITHOUT ROWID;

-- What was last queued per week (a digest of its days), so an unchanged week is not sent again.
CREATE TABLE fleet_weeks (
  week TEXT PRIMARY KEY,
  digest TEXT NOT NULL,
  outbox_id INTEGER NOT NULL
) WITHOUT ROWID;
