import type { ScheduleState } from '../contract/events.ts';
import type { Reason } from '../contract/reasons.ts';
import type { Db } from './db.ts';
import { PromptWriter, type PromptWriteOptions } from './prompt-write.ts';

export interface EntryRecord {
  ts: number;
  door: string;
  mode: ScheduleState;
  outcome: 'granted' | 'denied';
  reason: Reason;
  cardHash: string | null;
  category: string | null;
  ageBand: string | null;
  source: string | null;
}

export interface SwipeBookkeeping {
  entry: EntryRecord;
  /** A wrong PIN to count toward lockout. */
  pinFailure: boolean;
  /** A live answer in good standing, remembered for the offline policy allow_known. */
  seenLive: { category: string | null; birthYear: number | null } | null;
  /** The card is in the local registry: mark activity (for the inactive-patron purge). */
  touchLocalPatron: boolean;
}

export interface EntryStoreOptions {
  /** How the swipe's commit waits for the worker's write lock (tests inject its pause). */
  write?: PromptWriteOptions;
  /** Called after each commit and must not wait: starts the sync of a commit made unsynced. */
  afterCommit?: () => void;
}

/** Entries, PIN failures and last-seen records: everything one swipe writes, in one transaction. */
export class EntryStore {
  private readonly insertEntry;
  private readonly insertPinFailure;
  private readonly countPinFailures;
  private readonly upsertSeen;
  private readonly getSeen;
  private readonly touchPatron;
  private readonly writeSwipe;
  private readonly writer;
  private readonly afterCommit: () => void;

  constructor(db: Db, options: EntryStoreOptions = {}) {
    this.writer = new PromptWriter(db, options.write);
    this.afterCommit = options.afterCommit ?? (() => {});
    this.insertEntry = db.prepare(
      `INSERT INTO entries (ts, door, mode, outcome, reason, card_hash, category, age_band, source)
       VALUES (@ts, @door, @mode, @outcome, @reason, @cardHash, @category, @ageBand, @source)`,
    );
    this.insertPinFailure = db.prepare('INSERT INTO pin_failures (card_hash, ts) VALUES (?, ?)');
    this.countPinFailures = db
      .prepare('SELECT COUNT(*) AS n FROM pin_failures WHERE card_hash = ? AND ts >= ?')
      .pluck();
    this.upsertSeen = db.prepare(
      `INSERT INTO patron_seen (card_hash, last_live_ok_at, category, birth_year) VALUES (?, ?, ?, ?)
       ON CONFLICT (card_hash) DO UPDATE SET last_live_ok_at = excluded.last_live_ok_at,
         category = excluded.category, birth_year = excluded.birth_year`,
    );
    this.getSeen = db.prepare('SELECT last_live_ok_at FROM patron_seen WHERE card_hash = ?').pluck();
    this.touchPatron = db.prepare('UPDATE patrons SET last_activity_at = ? WHERE card_hash = ?');
    this.writeSwipe = db.transaction((b: SwipeBookkeeping): number => {
      const id = Number(this.insertEntry.run(b.entry).lastInsertRowid);
      const hash = b.entry.cardHash;
      if (hash && b.pinFailure) this.insertPinFailure.run(hash, b.entry.ts);
      if (hash && b.seenLive)
        this.upsertSeen.run(hash, b.entry.ts, b.seenLive.category, b.seenLive.birthYear);
      if (hash && b.touchLocalPatron) this.touchPatron.run(b.entry.ts, hash);
      return id;
    });
  }

  /** How long the last swipe's commit waited for the other process's write lock. */
  get lastWaitMs(): number {
    return this.writer.lastWaitMs;
  }

  /** Commits the swipe; returns the entry id. Throws when the store cannot write (the caller must then deny). */
  record(bookkeeping: SwipeBookkeeping): number {
    const id = this.writer.write(() => this.writeSwipe(bookkeeping));
    this.afterCommit();
    return id;
  }

  pinFailuresSince(cardHash: string, since: number): number {
    return this.countPinFailures.get(cardHash, since) as number;
  }

  lastLiveOk(cardHash: string): number | null {
    return (this.getSeen.get(cardHash) as number | undefined) ?? null;
  }
}

/** Coarse age bands for statistics; a birth year never leaves the entry row. */
export function ageBand(birthYear: number | undefined | null, year: number): string | null {
  if (birthYear === undefined || birthYear === null) return null;
  const age = year - birthYear;
  if (age < 13) return '0-12';
  if (age < 16) return '13-15';
  if (age < 18) return '16-17';
  if (age < 67) return '18-66';
  return '67+';
}
