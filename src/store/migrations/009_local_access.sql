-- The local block list, passes and emergency modes (src/local-access, src/emergency). Card numbers only as the
-- keyed hash (card_hash); `card_hint` is at most the last four characters, for the admin to tell rows apart.
-- `doors` is a JSON array of door ids, or NULL for every door. Times are UTC ms since the epoch.

CREATE TABLE local_blocks (
  card_hash TEXT PRIMARY KEY,     -- one block per card; a new one replaces it
  card_hint TEXT NOT NULL,
  note TEXT NOT NULL,             -- why (staff text; shown only on the admin page and in the audit)
  doors TEXT,
  expires_at INTEGER NOT NULL,    -- removed nightly after this
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX local_blocks_expires ON local_blocks (expires_at);

CREATE TABLE local_passes (
  card_hash TEXT PRIMARY KEY,     -- one pass per card
  card_hint TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('cleaner', 'guard', 'institution', 'temporary', 'other')),
  note TEXT NOT NULL,             -- whose it is (a company, an institution), as staff word it
  doors TEXT,
  hours TEXT NOT NULL,            -- weekly hours, e.g. "Mo-Fr 06:00-08:00" (src/local-access/pass-hours.ts)
  camera_consent TEXT NOT NULL CHECK (camera_consent IN ('required', 'not_required')),
  expires_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX local_passes_expires ON local_passes (expires_at);

CREATE TABLE emergency_modes (    -- history; the newest row not ended and not past `until` is in force
  id INTEGER PRIMARY KEY,
  mode TEXT NOT NULL CHECK (mode IN ('nobody', 'everybody')),
  reason TEXT NOT NULL,
  starts_at INTEGER NOT NULL,
  until INTEGER NOT NULL,
  set_by TEXT NOT NULL,
  ended_at INTEGER,               -- ended early by an admin (NULL: ran to `until`)
  ended_by TEXT
);
CREATE INDEX emergency_modes_until ON emergency_modes (until);
