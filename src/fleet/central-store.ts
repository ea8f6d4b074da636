/**
 * The fleet centre's own SQLite file. It carries the dashboard's user, session, login and audit tables
 * from the site migrations (one login code for both; the site's other tables stay empty here) and the
 * fleet's tables below, versioned in centre_schema.
 */
import type { FleetFigures, FleetOpeningHours } from '../contract/fleet.ts';
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
  `
  -- What the centre publishes to a branch (figure and alarm acknowledgements), stored before it is sent and
  -- deleted once the broker accepted it (QoS 1 PUBACK): a restart while the broker is away loses none.
  CREATE TABLE centre_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    made_at INTEGER NOT NULL
  );
  -- Receipt pruning asks whether a receipt is the revision in force of its hour.
  CREATE INDEX centre_hours_id ON centre_hours (site, id);
  CREATE INDEX centre_receipts_received ON centre_receipts (received_at);
  -- Staffed and staffless opening hours per branch and local day, from the branch's opening-hours messages
  -- (one per ISO week, whole): the newest made_at per week is in force, as for the hours' figures.
  CREATE TABLE centre_weeks (
    site TEXT NOT NULL,
    week TEXT NOT NULL,               -- ISO week YYYY-Www
    id TEXT NOT NULL,
    made_at INTEGER NOT NULL,
    PRIMARY KEY (site, week)
  ) WITHOUT ROWID;
  CREATE TABLE centre_opening (
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    week TEXT NOT NULL,
    staffed REAL NOT NULL,            -- hours
    staffless REAL NOT NULL,
    PRIMARY KEY (site, day)
  ) WITHOUT ROWID;
  CREATE INDEX centre_opening_week ON centre_opening (site, week);
  CREATE INDEX centre_weeks_id ON centre_weeks (site, id);
  `,
  `
  -- People-counter passages per branch hour, door and mode (FleetFigures v 2), replaced with the hour's figures
  -- by its newest revision (centre_hours): the report counts a door with passages by them, as the branch does.
  CREATE TABLE centre_passages (
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    hour INTEGER NOT NULL,
    door TEXT NOT NULL,
    mode TEXT NOT NULL,
    passages_in INTEGER NOT NULL,
    passages_out INTEGER NOT NULL,
    PRIMARY KEY (site, day, hour, door, mode)
  ) WITHOUT ROWID;
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
 * Stores one figures message once: the receipt, and the hour's rows and passages when this revision is newer
 * than the one in force (a v 1 message has no passages: the hour then has none). One transaction, committed
 * before the caller acknowledges.
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
    for (const table of ['centre_figures', 'centre_passages'])
      db.prepare(`DELETE FROM ${table} WHERE site = ? AND day = ? AND hour = ?`).run(
        site,
        figures.day,
        figures.hour,
      );
    const insert = db.prepare(
      `INSERT INTO centre_figures (site, day, hour, door, mode, outcome, reason, category, age_band, count)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET count = count + excluded.count`,
    );
    for (const r of figures.rows)
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
    const passage = db.prepare(
      `INSERT INTO centre_passages (site, day, hour, door, mode, passages_in, passages_out)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET passages_in = passages_in + excluded.passages_in,
         passages_out = passages_out + excluded.passages_out`,
    );
    for (const p of figures.passages)
      passage.run(site, figures.day, figures.hour, p.door, p.mode, p.in, p.out);
    db.prepare(
      `INSERT INTO centre_hours (site, day, hour, id, made_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (site, day, hour) DO UPDATE SET id = excluded.id, made_at = excluded.made_at`,
    ).run(site, figures.day, figures.hour, figures.id, figures.made_at);
    return 'stored';
  })();
}

/** The same for one ISO week's opening hours: the week's days are replaced by the newest revision. */
export function storeOpeningHours(
  db: Db,
  site: string,
  message: FleetOpeningHours,
  now: number,
): StoreResult {
  return db.transaction((): StoreResult => {
    const receipt = db
      .prepare('INSERT INTO centre_receipts (site, id, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
      .run(site, message.id, now);
    if (receipt.changes === 0) return 'duplicate';
    const current = db
      .prepare('SELECT made_at, id FROM centre_weeks WHERE site = ? AND week = ?')
      .get(site, message.week) as { made_at: number; id: string } | undefined;
    if (
      current &&
      (current.made_at > message.made_at || (current.made_at === message.made_at && current.id > message.id))
    )
      return 'older';
    db.prepare('DELETE FROM centre_opening WHERE site = ? AND week = ?').run(site, message.week);
    const insert = db.prepare(
      'INSERT INTO centre_opening (site, day, week, staffed, staffless) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    for (const d of message.days) insert.run(site, d.day, message.week, d.staffed, d.staffless);
    db.prepare(
      `INSERT INTO centre_weeks (site, week, id, made_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (site, week) DO UPDATE SET id = excluded.id, made_at = excluded.made_at`,
    ).run(site, message.week, message.id, message.made_at);
    return 'stored';
  })();
}

/**
 * Receipts kept at least this long. Past it, a receipt that is not the revision in force of its hour or week
 * is deleted: the branch queued a newer revision of that hour, which superseded the older one in the same
 * transaction (src/fleet/outbox.ts), and a superseded or acknowledged row is never taken for sending again.
 * Only copies already on their way (the bridge's queue, a session's in-flight messages) can still arrive, and
 * one of those finds a newer made_at in force and changes nothing ('older'). The revision in force keeps its
 * receipt, since the branch resends it until an acknowledgement reaches it, however long the link is down.
 */
export const RECEIPT_GRACE_MS = 7 * 24 * 3_600_000;
/** Receipts deleted per statement, so one prune never holds the store for long. */
export const PRUNE_BATCH = 2000;

/** One batch of prunable receipts; returns how many were deleted (less than the batch: done for now). */
export function pruneReceipts(db: Db, now: number, graceMs = RECEIPT_GRACE_MS): number {
  return db
    .prepare(
      `DELETE FROM centre_receipts WHERE (site, id) IN (
         SELECT r.site, r.id FROM centre_receipts r
         WHERE r.received_at < ?
           AND NOT EXISTS (SELECT 1 FROM centre_hours h WHERE h.site = r.site AND h.id = r.id)
           AND NOT EXISTS (SELECT 1 FROM centre_weeks w WHERE w.site = r.site AND w.id = r.id)
         LIMIT ?)`,
    )
    .run(now - graceMs, PRUNE_BATCH).changes;
}

export interface OutboxMessage {
  id: number;
  topic: string;
  payload: string;
}

/** Stores a message for a branch; the caller sends it (and deletes it once the broker accepted it). */
export function enqueueForBranch(db: Db, topic: string, payload: string, now: number): number {
  return Number(
    db
      .prepare('INSERT INTO centre_outbox (topic, payload, made_at) VALUES (?, ?, ?)')
      .run(topic, payload, now).lastInsertRowid,
  );
}

/** Messages not yet accepted by the broker, oldest first, at most `limit`, after id `afterId`. */
export function unsentForBranches(db: Db, afterId: number, limit: number): OutboxMessage[] {
  return db
    .prepare('SELECT id, topic, payload FROM centre_outbox WHERE id > ? ORDER BY id LIMIT ?')
    .all(afterId, limit) as OutboxMessage[];
}

export function sentToBranch(db: Db, id: number): void {
  db.prepare('DELETE FROM centre_outbox WHERE id = ?').run(id);
}
