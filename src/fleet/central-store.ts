/**
 * The fleet centre's own SQLite file. It carries the dashboard's user, session, login and audit tables
 * from the site migrations (one login code for both; the site's other tables stay empty here) and the
 * fleet's tables below, versioned in centre_schema.
 */
import type { FigureRow, FleetFigures } from '../contract/fleet.ts';
import { type Db, openDb } from '../store/db.ts';

const FLEET_MIGRATIONS: string[] = [
  `
  CREATE TABLE centre_sites (
    site TEXT PRIMARY KEY,
    last_contact_at INTEGER,          -- any live (not retained) message from the site
    status TEXT,                      -- the controller's <base>/status: online | offline
    bridge_up INTEGER,                -- the bridge's notification topic: 1 | 0
    health TEXT,                      -- the last FleetHealth (JSON)
    health_at INTEGER
  ) WITHOUT ROWID;
  CREATE TABLE centre_doors (
    site TEXT NOT NULL,
    door TEXT NOT NULL,
    state TEXT NOT NULL,              -- the retained door state (JSON)
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (site, door)
  ) WITHOUT ROWID;
  -- Branch alarms as their events reported them, and the centre's own (site_offline).
  CREATE TABLE centre_alarms (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    code TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    detail TEXT,
    origin TEXT NOT NULL CHECK (origin IN ('branch', 'centre')),
    raised_at INTEGER NOT NULL,
    cleared_at INTEGER,
    acked_at INTEGER,
    acked_by TEXT
  );
  CREATE UNIQUE INDEX centre_alarms_active ON centre_alarms (site, code, scope) WHERE cleared_at IS NULL;
  -- Every figures id ever stored, per site: a resend is answered again and changes nothing.
  CREATE TABLE centre_receipts (
    site TEXT NOT NULL,
    id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (site, id)
  ) WITHOUT ROWID;
  -- The revision in force per branch hour: the newest made_at wins, whatever the order of arrival.
  CREATE TABLE centre_hours (
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    hour INTEGER NOT NULL,
    id TEXT NOT NULL,
    made_at INTEGER NOT NULL,
    PRIMARY KEY (site, day, hour)
  ) WITHOUT ROWID;
  CREATE TABLE centre_figures (
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    hour INTEGER NOT NULL,
    door TEXT NOT NULL,
    mode TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    category TEXT NOT NULL,
    age_band TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (site, day, hour, door, mode, outcome, reason, category, age_band)
  ) WITHOUT ROWID;
  CREATE INDEX centre_figures_day ON centre_figures (day, site);
  `,
];

export function openFleetDb(path: string): Db {
  const db = openDb(path);
  db.exec('CREATE TABLE IF NOT EXISTS centre_schema (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM centre_schema').get() as { version: number } | undefined;
  const current = row?.version ?? 0;
  FLEET_MIGRATIONS.forEach((sql, i) => {
    if (i + 1 <= current) return;
    db.transaction(() => {
      db.exec(sql);
      db.exec('DELETE FROM centre_schema');
      db.prepare('INSERT INTO centre_schema (version) VALUES (?)').run(i + 1);
    })();
  });
  return db;
}

export type StoreResult = 'stored' | 'older' | 'duplicate';

/**
 * Stores one figures message once: the receipt, and the hour's rows when this revision is newer than the
 * one in force. One transaction, committed before the caller acknowledges.
 */
export function storeFigures(db: Db, site: string, figures: FleetFigures, now: number): StoreResult {
  return db.transaction((): StoreResult => {
    const receipt = db
      .prepare('INSERT INTO centre_receipts (site, id, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
      .run(site, figures.id, now);
    if (receipt.changes === 0) return 'duplicate';
    const current = db
      .prepare('SELECT made_at, id FROM centre_hours WHERE site = ? AND day = ? AND hour = ?')
      .get(site, figures.day, figures.hour) as { made_at: number; id: string } | undefined;
    if (
      current &&
      (current.made_at > figures.made_at || (current.made_at === figures.made_at && current.id > figures.id))
    )
      return 'older';
    db.prepare('DELETE FROM centre_figures WHERE site = ? AND day = ? AND hour = ?').run(
      site,
      figures.day,
      figures.hour,
    );
    const insert = db.prepare(
      `INSERT INTO centre_figures (site, day, hour, door, mode, outcome, reason, category, age_band, count)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET count = count + excluded.count`,
    );
    for (const r of figures.rows as FigureRow[])
      insert.run(
        site,
        figures.day,
        figures.hour,
        r.door,
        r.mode,
        r.outcome,
        r.reason,
        r.category,
        r.age_band,
        r.count,
      );
    db.prepare(
      `INSERT INTO centre_hours (site, day, hour, id, made_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (site, day, hour) DO UPDATE SET id = excluded.id, made_at = excluded.made_at`,
    ).run(site, figures.day, figures.hour, figures.id, figures.made_at);
    return 'stored';
  })();
}
