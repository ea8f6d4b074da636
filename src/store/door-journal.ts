import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Db } from './db.ts';

/**
 * The door's journal: a small SQLite file that only the door process writes. A swipe commits its bookkeeping
 * (entry, wrong PIN, last live check, local-patron activity) here, so it never waits for the shared store's
 * write lock, which the worker holds for its batches. The journal mover (store/journal-mover.ts) hands the rows
 * on to the shared store right after the relay, and again whenever the store was busy. The same tables as in
 * the store, so a row moves as it is; the rows of an erased card are deleted here too (takeCardFromDoorJournal).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  id INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  door TEXT NOT NULL,
  mode TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  card_hash TEXT,
  category TEXT,
  age_band TEXT,
  source TEXT
);
CREATE INDEX IF NOT EXISTS entries_card ON entries (card_hash);
CREATE TABLE IF NOT EXISTS pin_failures (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  card_hash TEXT NOT NULL,
  ts INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pin_failures_card ON pin_failures (card_hash, ts);
CREATE TABLE IF NOT EXISTS patron_seen (
  card_hash TEXT PRIMARY KEY,
  last_live_ok_at INTEGER NOT NULL,
  category TEXT,
  birth_year INTEGER
);
CREATE TABLE IF NOT EXISTS patron_activity (
  card_hash TEXT PRIMARY KEY,
  at INTEGER NOT NULL
);
`;

/** `<store>.door.sqlite` beside the store; an in-memory store has an in-memory journal. */
export function journalPathFor(storePath: string): string {
  return storePath === ':memory:' || storePath === '' ? ':memory:' : `${storePath}.door.sqlite`;
}

/**
 * Opened by the door process only. Its commits never checkpoint (the mover does, when the journal is empty), and
 * they sync like the store's (synchronous FULL here; syncAfterRelay may relax it). Once open it has no busy
 * timeout: its writes (the swipe's commit, the mover's removal) wait for an erasure's lock through PromptWriter,
 * and its reads, in WAL mode, never wait for a lock. So a swipe sets no pragma.
 */
export function openDoorJournal(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('wal_autocheckpoint = 0');
  db.exec(SCHEMA);
  db.pragma('busy_timeout = 0');
  return db;
}

export interface JournalEntry {
  ts: number;
  door: string;
  mode: string;
  outcome: string;
  reason: string;
  card_hash: string | null;
  category: string | null;
  age_band: string | null;
  source: string | null;
}

/**
 * Takes an erased card's rows that the door has not yet handed on, for the erasure (in another process than the
 * door's): deleted here and committed before the erasure's own transaction lets go of the store's write lock, so
 * the mover, which reads the journal only while it holds that lock, cannot bring them back. Returns the card's
 * entries, which the erasure counts into the statistics with the rest.
 */
export function takeCardFromDoorJournal(storePath: string, cardHash: string): JournalEntry[] {
  const path = journalPathFor(storePath);
  if (path === ':memory:' || !existsSync(path)) return [];
  const journal = new Database(path);
  try {
    journal.pragma('busy_timeout = 5000');
    return journal
      .transaction(() => {
        const entries = journal
          .prepare(
            `SELECT ts, door, mode, outcome, reason, card_hash, category, age_band, source
               FROM entries WHERE card_hash = ? ORDER BY id`,
          )
          .all(cardHash) as JournalEntry[];
        for (const table of ['entries', 'pin_failures', 'patron_seen', 'patron_activity'])
          journal.prepare(`DELETE FROM ${table} WHERE card_hash = ?`).run(cardHash);
        return entries;
      })
      .immediate();
  } finally {
    journal.close();
  }
}

/** A card's rows the door has not handed on for good yet, as the subject access report shows them. */
export interface CardInDoorJournal {
  entries: (JournalEntry & { id: number })[];
  pinFailures: number[];
  seen: { last_live_ok_at: number; category: string | null; birth_year: number | null } | null;
  activityAt: number | null;
}

/**
 * Reads a card's rows in the journal, for the access report (in another process than the door's). Called while
 * the report holds the store's write lock, so the mover cannot copy meanwhile: each row is either in the store
 * already (same id: moved, waiting for the sync) or only here.
 */
export function readCardFromDoorJournal(storePath: string, cardHash: string): CardInDoorJournal {
  const path = journalPathFor(storePath);
  const none: CardInDoorJournal = { entries: [], pinFailures: [], seen: null, activityAt: null };
  if (path === ':memory:' || !existsSync(path)) return none;
  // Not read-only: a read-only connection cannot open a WAL file whose door is not running (no -shm to map).
  const journal = new Database(path, { fileMustExist: true });
  try {
    journal.pragma('busy_timeout = 5000');
    // One snapshot for the four reads.
    return journal.transaction(
      (): CardInDoorJournal => ({
        entries: journal
          .prepare(
            `SELECT id, ts, door, mode, outcome, reason, card_hash, category, age_band, source
               FROM entries WHERE card_hash = ? ORDER BY id`,
          )
          .all(cardHash) as CardInDoorJournal['entries'],
        pinFailures: journal
          .prepare('SELECT ts FROM pin_failures WHERE card_hash = ? ORDER BY ts')
          .pluck()
          .all(cardHash) as number[],
        seen:
          (journal
            .prepare('SELECT last_live_ok_at, category, birth_year FROM patron_seen WHERE card_hash = ?')
            .get(cardHash) as CardInDoorJournal['seen'] | undefined) ?? null,
        activityAt:
          (journal.prepare('SELECT at FROM patron_activity WHERE card_hash = ?').pluck().get(cardHash) as
            | number
            | undefined) ?? null,
      }),
    )();
  } finally {
    journal.close();
  }
}
