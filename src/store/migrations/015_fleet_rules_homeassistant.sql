-- Central rules pushed down from the fleet (src/fleet-rules, docs/fleet-rules.md) and the Home Assistant
-- discovery this controller published (src/homeassistant).
--
-- Blocks and passes gain `source`: `local` (made here: dashboard, CLI) or `fleet` (the last valid signed rules
-- document). A card may have one of each; a new fleet document replaces every `fleet` row and never touches a
-- `local` one. SQLite cannot change a primary key, so both tables are rebuilt.

CREATE TABLE local_blocks_new (
  card_hash TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'fleet')),
  card_hint TEXT NOT NULL,
  note TEXT NOT NULL,
  doors TEXT,
  expires_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (card_hash, source)
) WITHOUT ROWID;
INSERT INTO local_blocks_new (card_hash, source, card_hint, note, doors, expires_at, created_by, created_at)
  SELECT card_hash, 'local', card_hint, note, doors, expires_at, created_by, created_at FROM local_blocks;
DROP TABLE local_blocks;
ALTER TABLE local_blocks_new RENAME TO local_blocks;
CREATE INDEX local_blocks_expires ON local_blocks (expires_at);

CREATE TABLE local_passes_new (
  card_hash TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'fleet')),
  card_hint TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('cleaner', 'guard', 'institution', 'temporary', 'other')),
  note TEXT NOT NULL,
  doors TEXT,
  hours TEXT NOT NULL,
  camera_consent TEXT NOT NULL CHECK (camera_consent IN ('required', 'not_required')),
  expires_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (card_hash, source)
) WITHOUT ROWID;
INSERT INTO local_passes_new
    (card_hash, source, card_hint, kind, note, doors, hours, camera_consent, expires_at, created_by, created_at)
  SELECT card_hash, 'local', card_hint, kind, note, doors, hours, camera_consent, expires_at, created_by, created_at
    FROM local_passes;
DROP TABLE local_passes;
ALTER TABLE local_passes_new RENAME TO local_passes;
CREATE INDEX local_passes_expires ON local_passes (expires_at);

-- The last valid rules document applied (one row): kept verbatim, signature and all, so a restart
-- checks it again and rebuilds the schedule exceptions from it while the link is down.
CREATE TABLE fleet_rules (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL,
  issued_at TEXT NOT NULL,
  document TEXT NOT NULL,          -- the signed envelope as received
  sha256 TEXT NOT NULL,            -- of `document`
  applied_at INTEGER NOT NULL
);

-- Home Assistant discovery configs this controller has published (retained), by door: what to remove
-- (an empty retained payload) once a door leaves the config.
CREATE TABLE ha_discovery (
  door TEXT PRIMARY KEY,
  topic TEXT NOT NULL,
  published_at INTEGER NOT NULL
) WITHOUT ROWID;
