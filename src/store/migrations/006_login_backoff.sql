-- Login backoff per (user name, client address) and per address, replacing the lock per user name
-- (anyone could keep a user locked out). Kept in the store so a restart does not reset an attacker.

DROP TABLE web_login_failures;

CREATE TABLE web_login_backoff (
  name_hash TEXT NOT NULL,        -- SHA-256 of the lower-cased name typed; '' for the row of the whole address
  ip TEXT NOT NULL,               -- the client address; on the address-wide row IPv6 counts per /64
  failures INTEGER NOT NULL,
  last_failure_at INTEGER NOT NULL,
  blocked_until INTEGER NOT NULL, -- attempts before this are refused without checking the password
  PRIMARY KEY (name_hash, ip)
) WITHOUT ROWID;
CREATE INDEX web_login_backoff_last ON web_login_backoff (last_failure_at);

-- Failed logins are counted here and written to the audit as one row per address and window.
CREATE TABLE web_login_audit_window (
  ip TEXT PRIMARY KEY,            -- IPv6 per /64; 'other' once too many addresses have open windows
  started_at INTEGER NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0,
  refused INTEGER NOT NULL DEFAULT 0, -- attempts refused during a backoff
  users TEXT NOT NULL DEFAULT '[]'    -- JSON: existing user names tried; unknown names are never kept
) WITHOUT ROWID;
