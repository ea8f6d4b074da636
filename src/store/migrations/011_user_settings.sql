-- Per-user dashboard settings beside the language: whether a new alarm plays a sound.
ALTER TABLE web_users ADD COLUMN sound INTEGER NOT NULL DEFAULT 1 CHECK (sound IN (0, 1));
