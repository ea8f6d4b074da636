-- Camera retention (src/nvr). Times are UTC milliseconds since the epoch.

-- Requests to the recorder agent: stored before they are published, sent until answered.
CREATE TABLE nvr_outbox (
  id TEXT PRIMARY KEY,              -- travels in the payload; answers are matched (once) by it
  kind TEXT NOT NULL CHECK (kind IN ('purge', 'export')),
  payload TEXT NOT NULL,            -- the JSON request as published
  created_at INTEGER NOT NULL,
  tries INTEGER NOT NULL DEFAULT 0, -- times published
  last_sent_at INTEGER,
  next_try_at INTEGER NOT NULL,
  accepted_at INTEGER,              -- exports: the agent took it on; no more timed resends
  answered_at INTEGER,              -- the final answer arrived
  answer TEXT,                      -- its JSON
  superseded_at INTEGER             -- a newer purge request replaced this unanswered one
);
CREATE INDEX nvr_outbox_pending ON nvr_outbox (next_try_at) WHERE answered_at IS NULL AND superseded_at IS NULL;
CREATE INDEX nvr_outbox_kind ON nvr_outbox (kind, created_at);

-- Police export cases; an open case holds its window against purges.
CREATE TABLE nvr_exports (
  id TEXT PRIMARY KEY,
  case_number TEXT NOT NULL,
  authority TEXT NOT NULL,
  from_at INTEGER NOT NULL,
  to_at INTEGER NOT NULL,
  cameras TEXT NOT NULL,            -- JSON array; empty means every camera
  reason TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('held', 'requested', 'exported', 'failed', 'closed', 'expired')),
  request_id TEXT,
  location TEXT,
  sha256 TEXT,
  files INTEGER,
  error TEXT,
  opened_by TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  hold_expires_at INTEGER NOT NULL,
  closed_at INTEGER
);
CREATE INDEX nvr_exports_open ON nvr_exports (hold_expires_at) WHERE closed_at IS NULL;

-- Last known recorder state (purge answers, retained status), so health survives a restart.
CREATE TABLE nvr_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
