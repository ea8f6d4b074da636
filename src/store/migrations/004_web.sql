-- Dashboard users, sessions and login failures (src/web).

CREATE TABLE web_users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  role TEXT NOT NULL CHECK (role IN ('staff', 'admin')),
  password_hash TEXT NOT NULL,    -- argon2id, encoded
  language TEXT NOT NULL DEFAULT 'nb' CHECK (language IN ('nb', 'da', 'en')),
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  last_login_at INTEGER
);

CREATE TABLE web_sessions (       -- only the SHA-256 of the session id is stored
  id_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES web_users (id) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

CREATE TABLE web_login_failures (
  kind TEXT NOT NULL CHECK (kind IN ('user', 'ip')),
  key TEXT NOT NULL,              -- lower-cased user name, or client address
  ts INTEGER NOT NULL
);
CREATE INDEX web_login_failures_key ON web_login_failures (kind, key, ts);
