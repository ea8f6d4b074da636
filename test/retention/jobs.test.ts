import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { identifiedCutoff } from '../../src/retention/anonymise.ts';
import { type RetentionConfig, runRetentionNow, startRetentionJobs } from '../../src/retention/jobs.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { expectedStats, generateEntries, insertEntries, type SeedEntry, storedStats } from './seed.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 26, 2);
const config: RetentionConfig = {
  site: { timezone: 'Europe/Oslo' },
  entries: { identified_days: 30 },
  patrons: { inactive_years: 3 },
};

function memoryLog() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger('info', stream), lines };
}

function auditRows(db: Db, action: string) {
  return (
    db.prepare('SELECT actor, detail FROM audit WHERE action = ? ORDER BY id').all(action) as {
      actor: string;
      detail: string;
    }[]
  ).map((r) => ({ actor: r.actor, detail: JSON.parse(r.detail) }));
}

describe('retention jobs', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  let entries: SeedEntry[];
  beforeEach(() => {
    dir = tempDir('dorvakt-jobs-');
    db = openDb(join(dir.path, 'store.sqlite'));
    entries = generateEntries({ from: NOW - 365 * DAY, to: NOW, count: 6000, seed: 3 });
    insertEntries(db, entries);
    db.prepare(
      "INSERT INTO patrons (card_hash, category, created_at, last_activity_at) VALUES (?, 'adult', ?, ?)",
    ).run('f'.repeat(64), NOW - 5 * 365 * DAY, NOW - 4 * 365 * DAY);
    db.prepare('INSERT INTO pin_failures (card_hash, ts) VALUES (?, ?)').run('a'.repeat(64), NOW - 2 * DAY);
  });
  afterEach(() => {
    db.close();
    dir.cleanup();
  });

  it('runRetentionNow does all three jobs, audited as system, and repeats harmlessly', async () => {
    const { log, lines } = memoryLog();
    const due = entries.filter((e) => e.ts < identifiedCutoff(30, NOW));
    const first = await runRetentionNow({ db, config, log, now: () => NOW, batchSize: 1000 });
    expect(first.anonymise).toMatchObject({ rows: due.length, batches: Math.ceil(due.length / 1000) });
    expect(first.inactive).toMatchObject({ cards: 1, patrons: 1 });
    expect(first.pinFailures).toBe(1);
    expect(storedStats(db)).toEqual(expectedStats(config.site.timezone, due));

    const second = await runRetentionNow({ db, config, log, now: () => NOW });
    expect(second.anonymise).toMatchObject({ rows: 0, batches: 0 });
    expect(second.inactive).toMatchObject({ cards: 0, patrons: 0 });
    expect(second.pinFailures).toBe(0);
    expect(storedStats(db)).toEqual(expectedStats(config.site.timezone, due));

    const anonymised = auditRows(db, 'retention.anonymise');
    expect(anonymised).toHaveLength(2);
    expect(anonymised[0]).toMatchObject({ actor: 'system', detail: { rows: due.length, complete: true } });
    expect(anonymised[1]!.detail.rows).toBe(0);
    expect(auditRows(db, 'retention.purge_inactive').map((r) => r.detail.cards)).toEqual([1, 0]);
    // The hourly prune reports only when it deleted something.
    expect(auditRows(db, 'retention.prune_pin_failures').map((r) => r.detail)).toEqual([{ pinFailures: 1 }]);
    expect(lines.some((l) => l['msg'] === 'entries anonymised')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('f'.repeat(64));
  });

  it('beside the door (a transaction budget) the anonymisation commits unsynced and syncs the log itself', async () => {
    const { log } = memoryLog();
    const levels = new Set<unknown>();
    const pragma = db.pragma.bind(db);
    db.pragma = ((source: string, options?: Database.PragmaOptions) => {
      if (source.startsWith('synchronous =')) levels.add(source);
      return pragma(source, options);
    }) as Db['pragma'];
    await runRetentionNow({ db, config, log, now: () => NOW, batchSize: 1000 }, ['anonymise']);
    expect(levels).toEqual(new Set());
    insertEntries(db, entries.slice(0, 100));
    await runRetentionNow({ db, config, log, now: () => NOW, transactionBudgetMs: 2 }, ['anonymise']);
    expect(levels).toEqual(new Set(['synchronous = NORMAL', 'synchronous = 2']));
    db.pragma = pragma;
  });

  it('a failing job is logged and audited, and the error surfaces', async () => {
    const { log, lines } = memoryLog();
    const broken = { ...config, site: { timezone: 'Mars/Olympus_Mons' } };
    await expect(
      runRetentionNow({ db, config: broken, log, now: () => NOW }, ['anonymise']),
    ).rejects.toThrow();
    expect(auditRows(db, 'retention.anonymise.failed')).toHaveLength(1);
    expect(lines.some((l) => l['msg'] === 'retention job failed' && l['job'] === 'anonymise')).toBe(true);
    expect(db.prepare('SELECT COUNT(*) FROM entries').pluck().get()).toBe(entries.length);
  });

  it('the schedules fire (per-second expressions here) and stop() ends them', async () => {
    const { log } = memoryLog();
    const every = '* * * * * *';
    const jobs = startRetentionJobs({
      db,
      config,
      log,
      now: () => NOW,
      schedules: { anonymise: every, inactive: every, pins: every },
    });
    try {
      await waitFor(() => auditRows(db, 'retention.anonymise').length >= 2, 8000, 'two anonymise runs');
      await waitFor(() => auditRows(db, 'retention.purge_inactive').length >= 1, 8000, 'a purge run');
    } finally {
      await jobs.stop();
    }
    const due = entries.filter((e) => e.ts < identifiedCutoff(30, NOW));
    expect(storedStats(db)).toEqual(expectedStats(config.site.timezone, due));
    expect(auditRows(db, 'retention.anonymise').reduce((s, r) => s + r.detail.rows, 0)).toBe(due.length);
    expect(await jobs.run('anonymise')).toBeUndefined();
  });

  it('the anonymisation follows entries.anonymise_at; the other jobs keep their own schedules', async () => {
    const { log } = memoryLog();
    const jobs = startRetentionJobs({
      db,
      config: { ...config, entries: { ...config.entries, anonymise_at: '* * * * * *' } },
      log,
      now: () => NOW,
    });
    try {
      await waitFor(() => auditRows(db, 'retention.anonymise').length >= 1, 8000, 'an anonymise run');
    } finally {
      await jobs.stop();
    }
    expect(auditRows(db, 'retention.purge_inactive')).toEqual([]);
  });

  it('start-up rebuilds indexes an interrupted bulk anonymisation left dropped', async () => {
    const sql = db
      .prepare("SELECT sql FROM sqlite_master WHERE name = 'entries_card'")
      .pluck()
      .get() as string;
    db.exec('DROP INDEX entries_card');
    db.prepare('INSERT INTO retention_dropped_indexes (name, sql) VALUES (?, ?)').run('entries_card', sql);
    const { log, lines } = memoryLog();
    const jobs = startRetentionJobs({ db, config, log });
    await jobs.stop();
    expect(db.prepare("SELECT sql FROM sqlite_master WHERE name = 'entries_card'").pluck().get()).toBe(sql);
    expect(lines.some((l) => l['restored'] === 1)).toBe(true);
  });
});
