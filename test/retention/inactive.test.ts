import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { audit } from '../../src/audit/audit.ts';
import { Consents } from '../../src/consent/consents.ts';
import { prunePinFailures, purgeInactivePatrons, yearsBefore } from '../../src/retention/inactive.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { tempDir } from '../helpers/tmp.ts';
import { dumpStore } from './seed.ts';

const DAY = 86_400_000;
const P = Date.UTC(2030, 5, 15, 12); // the purge runs "now" = P
const years = (n: number) => yearsBefore(P, n);
const card = (c: string) => c.repeat(64);

function consent(
  db: Db,
  hash: string,
  kind: 'agreement' | 'camera',
  action: 'signed' | 'withdrawn',
  at: number,
) {
  db.prepare(
    `INSERT INTO consents (card_hash, kind, action, version, at, registered_by, registered_at)
     VALUES (?, ?, ?, ?, ?, 'staff', ?)`,
  ).run(hash, kind, action, action === 'signed' ? 'v1' : null, at, at);
}
function patron(db: Db, hash: string, lastActivity: number) {
  db.prepare(
    `INSERT INTO patrons (card_hash, category, birth_year, created_at, last_activity_at) VALUES (?, 'adult', 1980, ?, ?)`,
  ).run(hash, lastActivity - DAY, lastActivity);
}
const rowsOf = (db: Db, table: string, hash: string) =>
  db.prepare(`SELECT COUNT(*) FROM ${table} WHERE card_hash = ?`).pluck().get(hash) as number;
const consentActions = (db: Db, hash: string, kind: string) =>
  db
    .prepare('SELECT action FROM consents WHERE card_hash = ? AND kind = ? ORDER BY id')
    .pluck()
    .all(hash, kind);

describe('purgeInactivePatrons', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  beforeEach(() => {
    dir = tempDir('dorvakt-purge-');
    db = openDb(join(dir.path, 'store.sqlite'));
  });
  afterEach(() => {
    db.close();
    dir.cleanup();
  });

  it('deletes every local record of cards inactive for inactive_years and nothing of active ones', () => {
    const [A, B, C, H] = [card('a'), card('b'), card('c'), card('e')];
    // A: registry activity a year ago, an old signature.
    patron(db, A, years(1));
    consent(db, A, 'agreement', 'signed', years(5));
    // B: nothing for four years anywhere.
    patron(db, B, years(4));
    consent(db, B, 'agreement', 'signed', years(5));
    consent(db, B, 'camera', 'signed', years(5));
    db.prepare('INSERT INTO patron_seen (card_hash, last_live_ok_at) VALUES (?, ?)').run(B, years(4));
    db.prepare('INSERT INTO pin_failures (card_hash, ts) VALUES (?, ?)').run(B, years(4));
    audit(
      db,
      { actor: 'anna', action: 'consent.agreement.signed', subject: B, detail: { card: B } },
      years(5),
    );
    audit(
      db,
      { actor: 'anna', action: 'entries.reveal', subject: 'entry:17', detail: { cardHash: B } },
      years(5),
    );
    // C: old registry row but a live check two years ago.
    patron(db, C, years(6));
    db.prepare('INSERT INTO patron_seen (card_hash, last_live_ok_at) VALUES (?, ?)').run(C, years(2));
    // H: only an identified entry ten days ago, plus an old signature.
    consent(db, H, 'agreement', 'signed', years(7));
    db.prepare(
      `INSERT INTO entries (ts, door, mode, outcome, reason, card_hash) VALUES (?, 'main', 'staffless', 'granted', 'allow', ?)`,
    ).run(P - 10 * DAY, H);

    const result = purgeInactivePatrons(db, { inactiveYears: 3, now: P });
    expect(result).toMatchObject({
      cards: 1,
      patrons: 1,
      consents: 2,
      patronSeen: 1,
      pinFailures: 1,
      entries: 0,
    });
    expect(result.auditTombstoned).toBe(2);
    for (const table of ['patrons', 'consents', 'patron_seen', 'pin_failures'])
      expect(rowsOf(db, table, B)).toBe(0);
    expect(dumpStore(db)).not.toContain(B);
    // The audit trail keeps both rows, under one tombstone.
    const trail = db.prepare('SELECT subject, detail FROM audit ORDER BY id').all() as {
      subject: string;
      detail: string;
    }[];
    expect(trail).toHaveLength(2);
    const tombstone = trail[0]!.subject;
    expect(tombstone).toMatch(/^erased:[0-9a-f]{24}$/);
    expect(JSON.parse(trail[0]!.detail)).toEqual({ card: tombstone });
    expect(JSON.parse(trail[1]!.detail)).toEqual({ cardHash: tombstone });
    expect(trail[1]!.subject).toBe('entry:17');

    expect(rowsOf(db, 'patrons', A)).toBe(1);
    expect(rowsOf(db, 'consents', A)).toBe(1);
    expect(rowsOf(db, 'patrons', C)).toBe(1);
    expect(rowsOf(db, 'patron_seen', C)).toBe(1);
    expect(rowsOf(db, 'consents', H)).toBe(1);

    // Idempotent: nothing more to do.
    expect(purgeInactivePatrons(db, { inactiveYears: 3, now: P })).toMatchObject({
      cards: 0,
      patrons: 0,
      consents: 0,
      patronSeen: 0,
      pinFailures: 0,
      auditTombstoned: 0,
    });
  });

  it('the inactivity boundary is inactive_years to the millisecond', () => {
    const [X, Y] = [card('1'), card('2')];
    patron(db, X, years(3)); // exactly at the cutoff: still kept
    patron(db, Y, years(3) - 1);
    const result = purgeInactivePatrons(db, { inactiveYears: 3, now: P });
    expect(result.cards).toBe(1);
    expect(rowsOf(db, 'patrons', X)).toBe(1);
    expect(rowsOf(db, 'patrons', Y)).toBe(0);
  });

  it('withdrawn consent: older rows go at once, the withdrawal stays inactive_years, then goes', () => {
    const consents = new Consents(db);
    const [D, F, G] = [card('d'), card('f'), card('9')];
    // D: signed six years ago, withdrawn two years ago (card otherwise silent).
    consent(db, D, 'agreement', 'signed', years(6));
    consent(db, D, 'agreement', 'signed', years(5)); // a newer version, also superseded
    consent(db, D, 'agreement', 'withdrawn', years(2));
    // F: still swiping (registry), agreement withdrawn five years ago, camera consent in force.
    patron(db, F, years(1));
    consent(db, F, 'agreement', 'signed', years(6));
    consent(db, F, 'agreement', 'withdrawn', years(5));
    consent(db, F, 'camera', 'signed', years(6));
    // G: withdrew five years ago and signed again last year.
    consent(db, G, 'agreement', 'signed', years(6));
    consent(db, G, 'agreement', 'withdrawn', years(5));
    consent(db, G, 'agreement', 'signed', years(1));

    expect(consents.status(D).agreement).toBe('withdrawn');
    const result = purgeInactivePatrons(db, { inactiveYears: 3, now: P });
    // D: two superseded signatures; F: signature + expired withdrawal; G: signature + expired withdrawal.
    expect(result.consents).toBe(6);
    expect(result.cards).toBe(0);

    expect(consentActions(db, D, 'agreement')).toEqual(['withdrawn']);
    expect(consents.status(D).agreement).toBe('withdrawn'); // the proof is still there, and still refuses
    expect(consentActions(db, F, 'agreement')).toEqual([]);
    expect(consents.status(F)).toMatchObject({ agreement: 'none', camera: 'signed' });
    expect(consentActions(db, G, 'agreement')).toEqual(['signed']);
    expect(consents.status(G).agreement).toBe('signed');

    // Three years after D's withdrawal the whole card is inactive and goes.
    const later = purgeInactivePatrons(db, { inactiveYears: 3, now: yearsBefore(P, -1) + DAY });
    expect(later.cards).toBe(1);
    expect(rowsOf(db, 'consents', D)).toBe(0);
    expect(consents.status(D).agreement).toBe('none');
  });

  it('a withdrawal registered late counts from its registration', () => {
    const K = card('7');
    patron(db, K, years(1));
    db.prepare(
      `INSERT INTO consents (card_hash, kind, action, version, at, registered_by, registered_at)
       VALUES (?, 'camera', 'withdrawn', NULL, ?, 'staff', ?)`,
    ).run(K, years(4), years(2));
    purgeInactivePatrons(db, { inactiveYears: 3, now: P });
    expect(consentActions(db, K, 'camera')).toEqual(['withdrawn']);
  });

  it('prunes PIN failures older than a day, with or without the purge', () => {
    const A = card('a');
    patron(db, A, years(1));
    const pin = db.prepare('INSERT INTO pin_failures (card_hash, ts) VALUES (?, ?)');
    pin.run(A, P - 2 * DAY);
    pin.run(A, P - DAY - 1);
    pin.run(A, P - 3_600_000);
    expect(prunePinFailures(db, { now: P })).toBe(2);
    expect(rowsOf(db, 'pin_failures', A)).toBe(1);
    pin.run(A, P - 5 * DAY);
    expect(purgeInactivePatrons(db, { inactiveYears: 3, now: P }).pinFailures).toBe(1);
    expect(rowsOf(db, 'pin_failures', A)).toBe(1);
  });
});
