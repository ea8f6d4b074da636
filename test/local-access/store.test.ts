import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalAccessError, LocalBlocks } from '../../src/local-access/blocks.ts';
import { cardHint } from '../../src/local-access/card-hint.ts';
import { endOfLocalDay } from '../../src/local-access/expiry.ts';
import { LocalAccessLookup } from '../../src/local-access/facts.ts';
import { LocalPasses } from '../../src/local-access/passes.ts';
import { createLogger } from '../../src/log/logger.ts';
import { cardHasher } from '../../src/privacy/card-hash.ts';
import { runRetentionNow, startRetentionJobs } from '../../src/retention/jobs.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 30, 9); // a Monday, 10:00 in Oslo
const hash = cardHasher('store-test-site-key-0123456789');
const DOORS = ['main', 'side'];
const retentionConfig = {
  site: { timezone: 'Europe/Oslo' },
  entries: { identified_days: 30 },
  patrons: { inactive_years: 3 },
};

function auditRows(db: Db) {
  return db.prepare('SELECT actor, action, subject, reason, detail FROM audit ORDER BY id').all() as {
    actor: string;
    action: string;
    subject: string | null;
    reason: string | null;
    detail: string | null;
  }[];
}

describe('block list and passes in the store', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  let blocks: LocalBlocks;
  let passes: LocalPasses;
  beforeEach(() => {
    dir = tempDir('dorvakt-local-access-');
    db = openDb(join(dir.path, 'store.sqlite'));
    blocks = new LocalBlocks(db, DOORS);
    passes = new LocalPasses(db, DOORS);
  });
  afterEach(() => {
    db.close();
    dir.cleanup();
  });

  it('shows at most the last four characters of a card, and never more than a third of it', () => {
    expect(cardHint('N000012345678')).toBe('…5678');
    expect(cardHint('10000001')).toBe('…01');
    expect(cardHint('12')).toBe('…');
    for (const card of ['1234567890', '10000001', 'ab12', 'N000012345678']) {
      const shown = cardHint(card).slice(1);
      expect(shown.length * 3).toBeLessThanOrEqual(card.length);
    }
  });

  it('a block is stored under the keyed hash only, listed, replaced and removed, each step audited', () => {
    const card = '1234567890';
    const expiresAt = NOW + 30 * DAY;
    blocks.add(
      {
        cardHash: hash(card),
        cardHint: cardHint(card),
        note: 'threatened staff',
        doors: ['main'],
        expiresAt,
      },
      'anne',
      NOW,
    );
    expect(blocks.list()).toMatchObject([
      {
        cardHash: hash(card),
        cardHint: '…890',
        note: 'threatened staff',
        doors: ['main'],
        expiresAt,
        createdBy: 'anne',
      },
    ]);
    blocks.add(
      {
        cardHash: hash(card),
        cardHint: cardHint(card),
        note: 'threatened staff again',
        doors: null,
        expiresAt,
      },
      'anne',
      NOW,
    );
    expect(blocks.list()).toHaveLength(1);
    expect(blocks.list()[0]!.doors).toBeNull();
    expect(blocks.remove(hash(card), 'sven', 'apologised', NOW)).toBe(true);
    expect(blocks.remove(hash(card), 'sven', 'twice', NOW)).toBe(false);
    expect(blocks.list()).toEqual([]);
    expect(auditRows(db).map((r) => [r.actor, r.action, r.subject, r.reason])).toEqual([
      ['anne', 'block.added', hash(card), 'threatened staff'],
      ['anne', 'block.replaced', hash(card), 'threatened staff again'],
      ['sven', 'block.removed', hash(card), 'apologised'],
    ]);
    // The number itself is nowhere in the store.
    const dump = JSON.stringify(db.prepare('SELECT * FROM audit').all()) + JSON.stringify(blocks.list());
    expect(dump).not.toContain(card);
  });

  it('refuses a block without a note, past its expiry, longer than a year, or for an unknown door', () => {
    const base = { cardHash: hash('1'), cardHint: '…', note: 'ok note', doors: null, expiresAt: NOW + DAY };
    expect(() => blocks.add({ ...base, note: 'x' }, 'anne', NOW)).toThrow(LocalAccessError);
    expect(() => blocks.add({ ...base, expiresAt: NOW }, 'anne', NOW)).toThrow(/future/);
    expect(() => blocks.add({ ...base, expiresAt: NOW + 367 * DAY }, 'anne', NOW)).toThrow(/366 days/);
    expect(() => blocks.add({ ...base, doors: ['cellar'] }, 'anne', NOW)).toThrow(/cellar/);
    expect(auditRows(db)).toEqual([]);
  });

  it('a temporary pass lasts at most three months, others a year; hours must parse', () => {
    const base = {
      cardHash: hash('2'),
      cardHint: '…',
      kind: 'temporary' as const,
      note: 'Kari, visiting researcher',
      doors: null,
      hours: 'Mo-Fr 06:00-08:00',
      cameraConsent: 'required' as const,
      expiresAt: NOW + 93 * DAY,
    };
    expect(() => passes.add(base, 'anne', NOW)).toThrow(/92 days/);
    expect(() => passes.add({ ...base, hours: 'weekdays' }, 'anne', NOW)).toThrow(/hours/);
    expect(passes.add({ ...base, kind: 'institution' }, 'anne', NOW).kind).toBe('institution');
    expect(() =>
      passes.add({ ...base, kind: 'institution', expiresAt: NOW + 367 * DAY }, 'anne', NOW),
    ).toThrow(/366 days/);
    const [row] = auditRows(db);
    expect(row).toMatchObject({ actor: 'anne', action: 'pass.added', subject: hash('2') });
    expect(JSON.parse(row!.detail!)).toMatchObject({
      kind: 'institution',
      hours: 'Mo-Fr 06:00-08:00',
      cameraConsent: 'required',
    });
  });

  it('the door reads a block only where and while it is in force', () => {
    const lookup = new LocalAccessLookup(db, 'Europe/Oslo');
    blocks.add(
      { cardHash: hash('3'), cardHint: '…', note: 'side only', doors: ['side'], expiresAt: NOW + DAY },
      'a',
      NOW,
    );
    expect(lookup.factsFor(hash('3'), 'side', new Date(NOW)).blocked).toBe(true);
    expect(lookup.factsFor(hash('3'), 'main', new Date(NOW)).blocked).toBe(false);
    expect(lookup.factsFor(hash('3'), 'side', new Date(NOW + DAY)).blocked).toBe(false);
    expect(lookup.factsFor(hash('4'), 'side', new Date(NOW))).toEqual({ blocked: false, pass: null });
  });

  it('expiry dates mean the end of that local day', () => {
    expect(new Date(endOfLocalDay('2026-12-24', 'Europe/Oslo')!).toISOString()).toBe(
      '2026-12-24T23:00:00.000Z',
    );
    expect(new Date(endOfLocalDay('2026-07-01', 'Europe/Oslo')!).toISOString()).toBe(
      '2026-07-01T22:00:00.000Z',
    );
    expect(endOfLocalDay('2026-02-30', 'Europe/Oslo')).toBeUndefined();
  });

  it('the nightly job removes expired blocks and passes, each audited as system, and keeps the rest', async () => {
    blocks.add(
      { cardHash: hash('5'), cardHint: '…', note: 'short', doors: null, expiresAt: NOW + DAY },
      'a',
      NOW,
    );
    blocks.add(
      { cardHash: hash('6'), cardHint: '…', note: 'long', doors: null, expiresAt: NOW + 9 * DAY },
      'a',
      NOW,
    );
    passes.add(
      {
        cardHash: hash('7'),
        cardHint: '…',
        kind: 'cleaner',
        note: 'Renhold AS',
        doors: null,
        hours: 'Mo-Fr 06:00-08:00',
        cameraConsent: 'not_required',
        expiresAt: NOW + 2 * DAY,
      },
      'a',
      NOW,
    );
    const log = createLogger('silent');
    const first = await runRetentionNow({ db, config: retentionConfig, log, now: () => NOW + 3 * DAY }, [
      'local_access',
    ]);
    expect(first.localAccess).toEqual({ blocks: 1, passes: 1 });
    expect(blocks.list().map((b) => b.note)).toEqual(['long']);
    expect(passes.list()).toEqual([]);
    const removed = auditRows(db).filter((r) => r.action.endsWith('expired_removed'));
    expect(removed.map((r) => [r.actor, r.action, r.subject])).toEqual([
      ['system', 'block.expired_removed', hash('5')],
      ['system', 'pass.expired_removed', hash('7')],
    ]);
    // Scheduled as the worker runs it (a per-second schedule stands in for the night).
    const jobs = startRetentionJobs({
      db,
      config: retentionConfig,
      log,
      now: () => NOW + 10 * DAY,
      schedules: {
        anonymise: '0 0 1 1 *',
        inactive: '0 0 1 1 *',
        pins: '0 0 1 1 *',
        local_access: '* * * * * *',
      },
    });
    try {
      await waitFor(() => blocks.list().length === 0, 5000, 'the scheduled removal');
    } finally {
      await jobs.stop();
    }
  });
});
