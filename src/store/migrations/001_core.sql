-- Core tables. Times are UTC milliseconds since the epoch unless named *_date.
-- Card numbers appear only as card_hash (HMAC-SHA256 with the site key); PINs never.

CREATE TABLE patrons (            -- the local registry (sites without SIP2, and the demo)
  card_hash TEXT PRIMARY KEY,
  category TEXT,
  birth_year INTEGER,
  blocked INTEGER NOT NULL DEFAULT 0,
  card_lost INTEGER NOT NULL DEFAULT 0,
  expires_date TEXT,              -- YYYY-MM-DD, local
  created_at INTEGER NOT NULL,
  last_activity_at INTEGER NOT NULL
);

CREATE TABLE consents (           -- append-only history; the newest row per (card, kind) is in force
  id INTEGER PRIMARY KEY,
  card_hash TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('agreement', 'camera')),
  action TEXT NOT NULL CHECK (action IN ('signed', 'withdrawn')),
  version TEXT,
  at INTEGER NOT NULL,            -- when the patron signed / withdrew
  registered_by TEXT NOT NULL,
  registered_at INTEGER NOT NULL
);
CREATE INDEX consents_card ON consents (card_hash, kind, id);

CREATE TABLE entries (
  id INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  door TEXT NOT NULL,
  mode TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('granted', 'denied')),
  reason TEXT NOT NULL,
  card_hash TEXT,                 -- cleared when the entry is anonymised
  category TEXT,
  age_band TEXT,
  source TEXT                     -- local | live | cache | offline
);
CREATE INDEX entries_ts ON entries (ts);
CREATE INDEX entries_card ON entries (card_hash) WHERE card_hash IS NOT NULL;

CREATE TABLE entry_stats (        -- anonymised: no patron key, counts per hour bucket
  day TEXT NOT NULL,              -- local date YYYY-MM-DD
  hour INTEGER NOT NULL,          -- local hour 0-23
  door TEXT NOT NULL,
  mode TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  category TEXT NOT NULL DEFAULT '',
  age_band TEXT NOT NULL DEFAULT '',
  count INTEGER NOT NULL,
  PRIMARY KEY (day, hour, door, mode, outcome, reason, category, age_band)
) WITHOUT ROWID;

CREATE TABLE pin_failures (
  card_hash TEXT NOT NULL,
  ts INTEGER NOT NULL
);
CREATE INDEX pin_failures_card ON pin_failures (card_hash, ts);

CREATE TABLE patron_seen (        -- last successful live check, for the offline policy allow_known
  card_hash TEXT PRIMARY KEY,
  last_live_ok_at INTEGER NOT NULL,
  category TEXT,
  birth_year INTEGER
);

CREATE TABLE alarms (
  id INTEGER PRIMARY KEY,
  code TEXT NOT NULL,
  door TEXT NOT NULL DEFAULT '',
  detail TEXT,
  raised_at INTEGER NOT NULL,
  cleared_at INTEGER,
  acked_at INTEGER,
  acked_by TEXT
);
CREATE UNIQUE INDEX alarms_active ON alarms (code, door) WHERE cleared_at IS NULL;

CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  actor TEXT NOT NULL,            -- user name, 'system' or 'cli:<user>'
  action TEXT NOT NULL,
  subject TEXT,                   -- e.g. a card_hash or an export id
  reason TEXT,
  detail TEXT                     -- JSON
);
CREATE INDEX audit_subject ON audit (subject) WHERE subject IS NOT NULL;
