import { afterAll, describe, expect, it } from 'vitest';
import { CardCheck, type CardCheckDoor } from '../../src/access/card-check.ts';
import { Consents } from '../../src/consent/consents.ts';
import { CardCheckRefused } from '../../src/contract/card-check.ts';
import type { ScheduleState } from '../../src/contract/events.ts';
import type { PatronLookup } from '../../src/contract/patron.ts';
import { cardHasher } from '../../src/privacy/card-hash.ts';
import { openDb } from '../../src/store/db.ts';
import { openDoorJournal } from '../../src/store/door-journal.ts';
import { EntryStore } from '../../src/store/entries.ts';
import { tempDir } from '../helpers/tmp.ts';

const HOUR = 3_600_000;
const NOW = new Date('2026-11-30T10:00:00Z');

/** Staffed now, closed from noon, staffless from 18:00 UTC: the next staffless hours are a second moment. */
const door = (over: Partial<CardCheckDoor> = {}): CardCheckDoor => ({
  id: 'front',
  policy: {
    staffedMode: 'card',
    requirePin: false,
    minAge: 15,
    categoriesAllowedAlone: [],
    categoriesDenied: [],
    offlinePolicy: 'deny',
  },
  config: { reader: { card_pattern: '^[0-9]{8}$' } },
  schedule: {
    stateAt: (at: Date): ScheduleState =>
      at.getTime() < NOW.getTime() + 2 * HOUR
        ? 'staffed'
        : at.getTime() < NOW.getTime() + 8 * HOUR
          ? 'closed'
          : 'staffless',
    nextChange: (from: Date) =>
      from.getTime() < NOW.getTime() + 2 * HOUR
        ? { state: 'closed' as const, at: new Date(NOW.getTime() + 2 * HOUR) }
        : from.getTime() < NOW.getTime() + 8 * HOUR
          ? { state: 'staffless' as const, at: new Date(NOW.getTime() + 8 * HOUR) }
          : null,
  },
  ...over,
});

describe('CardCheck in the door process', () => {
  const dir = tempDir('card-check-unit-');
  const db = openDb(`${dir.path}/store.sqlite`);
  afterAll(() => {
    db.close();
    dir.cleanup();
  });
  const hashCard = cardHasher('card-check-unit-key-0123456789');
  const consents = new Consents(db);
  const entries = new EntryStore(db, openDoorJournal(':memory:'));
  const lookups: { card: string; pin: string | undefined }[] = [];
  const standing: PatronLookup = {
    status: 'ok',
    source: 'live',
    standing: {
      known: true,
      pinOk: null,
      blocked: false,
      cardLost: false,
      expired: false,
      finesExceeded: false,
      category: 'V',
      birthYear: 2016,
    },
  };
  let release: (() => void) | undefined;
  const check = new CardCheck({
    // Card 10000009 is on the site's own block list (asked with the card's keyed hash and the door).
    localAccess: {
      factsFor: (cardHash, door) => ({
        blocked: cardHash === hashCard('10000009') && door === 'front',
        pass: null,
      }),
    },
    emergency: { current: () => null },
    doors: [door()],
    entries,
    consents,
    hashCard,
    lookup: async (card, pin) => {
      lookups.push({ card, pin });
      if (release) await new Promise<void>((r) => (release = r));
      return standing;
    },
    timezone: 'Europe/Oslo',
    pinLockout: { attempts: 3, minutes: 15 },
    offlineKnownDays: 14,
    now: () => NOW,
  });

  it('shows now (staffed: a good card is enough) and the start of the next staffless hours (age and consent apply)', async () => {
    consents.sign(hashCard('10000004'), 'agreement', '1', NOW.getTime(), 't');
    const result = await check.explain('10000004', undefined, 'front');
    expect(result.now).toMatchObject({
      schedule: 'staffed',
      decision: { allow: true, reason: 'allow_staffed' },
    });
    expect(result.nextStaffless?.at).toBe(new Date(NOW.getTime() + 8 * HOUR).toISOString());
    expect(result.nextStaffless?.decision).toEqual({ allow: false, reason: 'under_age' });
    const rows = Object.fromEntries(result.nextStaffless!.checks.map((c) => [c.check, c]));
    expect(rows['category']).toMatchObject({ status: 'fail', reasons: ['under_age'], decisive: true });
    expect(rows['camera']).toMatchObject({ status: 'fail', reasons: ['no_camera_consent'] });
    expect(rows['agreement']).toMatchObject({ status: 'pass' });
    expect(result.patron).toEqual({ status: 'ok', source: 'live', category: 'V', birthYear: 2016 });
    // Read only: no entry, no PIN failure.
    expect(db.prepare('SELECT COUNT(*) FROM entries').pluck().get()).toBe(0);
    expect(db.prepare('SELECT COUNT(*) FROM pin_failures').pluck().get()).toBe(0);
  });

  it("sees the site's own block list as the door does: refused, and the local row says why", async () => {
    const result = await check.explain('10000009', undefined, 'front');
    expect(result.now.decision).toEqual({ allow: false, reason: 'blocked_locally' });
    const rows = Object.fromEntries(result.now.checks.map((c) => [c.check, c]));
    expect(rows['local']).toMatchObject({ status: 'fail', reasons: ['blocked_locally'], decisive: true });
  });

  it("checks its arguments itself (the worker is not trusted): the door, the door's card pattern, the PIN", async () => {
    await expect(check.explain('10000004', undefined, 'back')).rejects.toThrow(CardCheckRefused);
    await expect(check.explain('abc', undefined, 'front')).rejects.toThrow(/card pattern/);
    await expect(check.explain(42, undefined, 'front')).rejects.toThrow(/not a card number/);
    await expect(check.explain('10000004', 1234, 'front')).rejects.toThrow(/not a PIN/);
    expect(lookups.filter((l) => l.card === 'abc')).toEqual([]);
  });

  it('runs one check at a time', async () => {
    release = () => {};
    const first = check.explain('10000001', '1234', 'front');
    await expect(check.explain('10000002', undefined, 'front')).rejects.toThrow(/already running/);
    const go = release;
    release = undefined;
    go();
    await expect(first).resolves.toMatchObject({ pinGiven: true });
    expect(lookups.at(-1)).toEqual({ card: '10000001', pin: '1234' });
  });
});
