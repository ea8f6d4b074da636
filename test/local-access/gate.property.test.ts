/**
 * Passes, blocks and emergency modes through the real gate on a real SQLite file with a fake clock: the pass
 * grants exactly inside its hours and before its expiry; the library system is never asked for it.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessGate, type GateDoor } from '../../src/access/gate.ts';
import { Alarms } from '../../src/alarms/alarms.ts';
import { Consents } from '../../src/consent/consents.ts';
import type { ScheduleState } from '../../src/contract/events.ts';
import type { PatronSource } from '../../src/contract/patron.ts';
import { EmergencyModes } from '../../src/emergency/modes.ts';
import { EventBus } from '../../src/events/bus.ts';
import { LocalBlocks } from '../../src/local-access/blocks.ts';
import { LocalAccessLookup } from '../../src/local-access/facts.ts';
import { LocalPasses } from '../../src/local-access/passes.ts';
import { createLogger } from '../../src/log/logger.ts';
import { cardHasher } from '../../src/privacy/card-hash.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { openDoorJournal } from '../../src/store/door-journal.ts';
import { EntryStore } from '../../src/store/entries.ts';
import { tempDir } from '../helpers/tmp.ts';

const DAY = 86_400_000;
const TZ = 'Europe/Oslo';
const NOW = Date.UTC(2026, 9, 20, 10); // spans the end of summer time on 25 October
const hash = cardHasher('gate-property-site-key-0123456789');
const DAYS = ['Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa', 'Su'];
const local = new Intl.DateTimeFormat('en-GB', {
  timeZone: TZ,
  weekday: 'short',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/** The reference: local weekday (1–7) and minute of day, from Intl directly. */
function localWeekMinute(at: number): { day: number; minute: number } {
  const parts = local.formatToParts(new Date(at));
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  const day = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday')) + 1;
  return { day, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}
const hhmm = (m: number) =>
  `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

describe('passes through the gate (property, fake clock, real store)', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  let asked = 0;
  let granted = 0;
  let schedule: ScheduleState = 'closed';
  let clock = NOW;
  let gate: AccessGate;
  const door: GateDoor = {
    id: 'main',
    policy: {
      staffedMode: 'card',
      requirePin: true,
      minAge: 15,
      categoriesAllowedAlone: [],
      categoriesDenied: [],
      offlinePolicy: 'deny',
    },
    scheduleState: () => schedule,
    grant: () => granted++,
  };
  // The library system would let every card in: whatever a pass or a block decides, it decides alone.
  const everyoneOk: PatronSource = {
    name: 'live',
    verifiesPin: true,
    lookup: async () => {
      asked++;
      return {
        status: 'ok',
        source: 'live',
        standing: {
          known: true,
          pinOk: true,
          blocked: false,
          cardLost: false,
          expired: false,
          finesExceeded: false,
          category: 'V',
          birthYear: 1980,
        },
      };
    },
  };

  beforeAll(() => {
    dir = tempDir('dorvakt-pass-gate-');
    db = openDb(join(dir.path, 'store.sqlite'));
    const bus = new EventBus();
    gate = new AccessGate({
      entries: new EntryStore(db, openDoorJournal(':memory:')),
      consents: new Consents(db),
      patrons: everyoneOk,
      localAccess: new LocalAccessLookup(db, TZ),
      emergency: new EmergencyModes(db),
      hashCard: hash,
      alarms: new Alarms(db, bus, createLogger('silent')),
      bus,
      log: createLogger('silent'),
      timezone: TZ,
      language: 'en',
      pinLockout: { attempts: 3, minutes: 15 },
      offlineKnownDays: 14,
      now: () => new Date(clock),
    });
  });
  afterAll(() => {
    db.close();
    dir.cleanup();
  });

  it('grants a pass exactly inside its weekly hours and before its expiry, never asking the library system', async () => {
    const passes = new LocalPasses(db, ['main']);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 7 }),
        fc.integer({ min: 0, max: 95 }),
        fc.integer({ min: 1, max: 95 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 70 * 24 * 4 }),
        fc.constantFrom<ScheduleState>('closed', 'staffless', 'staffed'),
        async (days, fromQ, lengthQ, expiryDays, swipeQ, mode) => {
          const from = fromQ * 15;
          const to = (from + lengthQ * 15) % (24 * 60);
          fc.pre(to !== from);
          const hours = `${days.map((d) => DAYS[d]).join(',')} ${hhmm(from)}-${hhmm(to === 0 ? 24 * 60 : to)}`;
          const card = `5${String(n++).padStart(9, '0')}`;
          const expiresAt = NOW + expiryDays * DAY;
          passes.add(
            {
              cardHash: hash(card),
              cardHint: '…',
              kind: 'other',
              note: 'property',
              doors: ['main'],
              hours,
              cameraConsent: 'not_required',
              expiresAt,
            },
            'test',
            NOW,
          );
          clock = NOW + swipeQ * 15 * 60_000 + 7 * 60_000;
          schedule = mode;
          const { day, minute } = localWeekMinute(clock);
          const yesterday = ((day + 5) % 7) + 1;
          const set = new Set(days.map((d) => d + 1));
          const end = to === 0 ? 24 * 60 : to;
          const inside =
            end > from
              ? set.has(day) && minute >= from && minute < end
              : (set.has(day) && minute >= from) || (set.has(yesterday) && minute < end);
          const askedBefore = asked;
          const grantedBefore = granted;
          const result = await gate.handle(door, { card });
          expect(asked).toBe(askedBefore);
          const expected = clock >= expiresAt ? 'pass_expired' : inside ? 'allow_pass' : 'outside_pass_hours';
          expect(result.decision.reason, `${hours} at ${new Date(clock).toISOString()}`).toBe(expected);
          expect(granted - grantedBefore).toBe(expected === 'allow_pass' ? 1 : 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a blocked card is refused with blocked_locally though the library system says OK, in every mode', async () => {
    const blocks = new LocalBlocks(db, ['main']);
    clock = NOW;
    blocks.add(
      { cardHash: hash('7000000001'), cardHint: '…', note: 'banned', doors: null, expiresAt: NOW + 5 * DAY },
      'test',
      NOW,
    );
    for (const mode of ['staffless', 'staffed'] as const) {
      schedule = mode;
      const before = granted;
      const result = await gate.handle(door, { card: '7000000001', pin: '1234' });
      expect(result.decision).toEqual({ allow: false, reason: 'blocked_locally' });
      expect(granted).toBe(before);
    }
    // The same card unblocked: the library system decides again.
    blocks.remove(hash('7000000001'), 'test', 'lifted', NOW);
    schedule = 'staffed';
    expect((await gate.handle(door, { card: '7000000001', pin: '1234' })).decision.reason).toBe(
      'allow_staffed',
    );
  });

  it('emergency everybody opens and records every swipe; nobody refuses and records; both end by themselves', async () => {
    const modes = new EmergencyModes(db);
    schedule = 'closed';
    clock = NOW + 100 * DAY;
    modes.set(
      { mode: 'everybody', until: clock + 3_600_000, reason: 'shelter during the storm' },
      'anne',
      clock,
    );
    const entries = () => db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number;
    const before = entries();
    const askedBefore = asked;
    const r1 = await gate.handle(door, { card: '8000000001' });
    expect(r1.decision).toEqual({ allow: true, reason: 'allow_emergency' });
    expect(r1.entryId).not.toBeNull();
    expect(entries()).toBe(before + 1);
    expect(asked).toBe(askedBefore);
    clock += 3_600_000; // the mode's `until`
    expect((await gate.handle(door, { card: '8000000001' })).decision.reason).toBe('closed');
    modes.set({ mode: 'nobody', until: clock + 60_000, reason: 'water leak' }, 'anne', clock);
    schedule = 'staffed';
    expect((await gate.handle(door, { card: '8000000001', pin: '1' })).decision).toEqual({
      allow: false,
      reason: 'emergency_closed',
    });
    expect(entries()).toBe(before + 3);
    clock += 60_000;
    expect((await gate.handle(door, { card: '8000000001', pin: '1' })).decision.reason).toBe('allow_staffed');
  });
});
