import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { anonymiseEntries } from '../../src/retention/anonymise.ts';
import { purgeInactivePatrons, yearsBefore } from '../../src/retention/inactive.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fakeHash, grantedEntry, insertEntries, type SeedEntry } from './seed.ts';

/** Each retention limit a minute either side of its boundary, with an injected clock. */
const NOW = Date.UTC(2026, 10, 30, 12, 0);
const MINUTE = 60_000;
const DAY = 86_400_000;

const entry = (ts: number, card: string): SeedEntry => grantedEntry(ts, card, 'V');

describe('retention boundaries', () => {
  const dir = tempDir('boundaries-');
  let db: Db;
  beforeEach(() => {
    db = openDb(join(dir.path, `${Math.random().toString(36).slice(2)}.sqlite`));
  });
  afterEach(() => db.close());

  it.each([1, 30, 90])(
    'identified_days %i: an entry a minute younger keeps its card hash, a minute older becomes statistics',
    (days) => {
      const young = fakeHash(1);
      const old = fakeHash(2);
      insertEntries(db, [entry(NOW - days * DAY - MINUTE, old), entry(NOW - days * DAY + MINUTE, young)]);
      const result = anonymiseEntries(db, { identifiedDays: days, timezone: 'Europe/Oslo', now: NOW });
      expect(result.rows).toBe(1);
      const left = db.prepare('SELECT card_hash FROM entries').pluck().all();
      expect(left).toEqual([young]);
    },
  );

  it.each([1, 3, 5])(
    'inactive_years %i: a card last active a minute after the cutoff stays, a minute before is deleted',
    (years) => {
      const cutoff = yearsBefore(NOW, years);
      const patron = (hash: string, at: number) =>
        db
          .prepare(
            `INSERT INTO patrons (card_hash, category, birth_year, created_at, last_activity_at) VALUES (?, 'V', 1980, ?, ?)`,
          )
          .run(hash, at - DAY, at);
      patron(fakeHash(10), cutoff + MINUTE);
      patron(fakeHash(11), cutoff - MINUTE);
      const result = purgeInactivePatrons(db, { inactiveYears: years, now: NOW });
      expect(result.cards).toBe(1);
      expect(db.prepare('SELECT card_hash FROM patrons').pluck().all()).toEqual([fakeHash(10)]);
    },
  );
});
