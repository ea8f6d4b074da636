/** The swipe path's bookkeeping and shortcuts, each seen from outside: what is asked, stored and raised. */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessPolicy } from '../../src/access/decide.ts';
import { AccessGate, type GateDoor } from '../../src/access/gate.ts';
import { Alarms } from '../../src/alarms/alarms.ts';
import { Consents } from '../../src/consent/consents.ts';
import type { ScheduleState } from '../../src/contract/events.ts';
import type { PatronLookup, PatronSource } from '../../src/contract/patron.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { cardHasher } from '../../src/privacy/card-hash.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { openDoorJournal } from '../../src/store/door-journal.ts';
import { EntryStore } from '../../src/store/entries.ts';
import { tempDir } from '../helpers/tmp.ts';
import { EmergencyModes } from '../../src/emergency/modes.ts';
import { LocalAccessLookup } from '../../src/local-access/facts.ts';
import { LocalBlocks } from '../../src/local-access/blocks.ts';
import { LocalPasses } from '../../src/local-access/passes.ts';

const DAY = 86_400_000;
const log = createLogger('silent');
const hash = cardHasher('test-site-key-0123456789');
const CARD = '10000001';
const policy: AccessPolicy = {
  staffedMode: 'card',
  requirePin: false,
  minAge: 15,
  categoriesAllowedAlone: [],
  categoriesDenied: [],
  offlinePolicy: 'deny',
};

let dir: ReturnType<typeof tempDir>;
let db: Db;
let consents: Consents;
let alarms: Alarms;
let local: LocalPatronSource;
let mode: ScheduleState;
let grants: number;
const clock = { now: Date.parse('2026-11-30T12:00:00Z') };

const door = (over: Partial<AccessPolicy> = {}): GateDoor => ({
  id: 'main',
  policy: { ...policy, ...over },
  scheduleState: () => mode,
  grant: () => {
    grants++;
  },
});

/** A live library system that can go away, counting what it is asked. */
function liveSource() {
  const s = {
    up: true,
    asked: 0,
    source: {
      name: 'live',
      verifiesPin: true,
      lookup: async (card: string): Promise<PatronLookup> => {
        s.asked++;
        if (!s.up) return { status: 'unavailable', error: 'down' };
        const r = await local.lookup(card);
        return r.status === 'ok' ? { ...r, source: 'live' } : r;
      },
    } satisfies PatronSource,
  };
  return s;
}

const gate = (patrons: PatronSource = local, entries = new EntryStore(db, openDoorJournal(':memory:'))) =>
  new AccessGate({
    entries,
    consents,
    patrons,
    hashCard: hash,
    localAccess: new LocalAccessLookup(db, 'Europe/Oslo'),
    emergency: new EmergencyModes(db),
    alarms,
    bus: new EventBus(),
    log,
    timezone: 'Europe/Oslo',
    language: 'en',
    pinLockout: { attempts: 3, minutes: 15 },
    offlineKnownDays: 14,
    now: () => new Date(clock.now),
  });

const entryRow = (id: number | null) =>
  db.prepare('SELECT outcome, reason, source FROM entries WHERE id = ?').get(id) as Record<string, unknown>;

beforeEach(() => {
  dir = tempDir();
  db = openDb(join(dir.path, 'store.sqlite'));
  consents = new Consents(db);
  alarms = new Alarms(db, new EventBus(), log);
  local = new LocalPatronSource(db, hash, () => '2026-11-30');
  mode = 'staffless';
  grants = 0;
  local.put(CARD, { category: 'V', birthYear: 1980 });
  consents.sign(hash(CARD), 'agreement', '1', clock.now, 'test');
  consents.sign(hash(CARD), 'camera', '1', clock.now, 'test');
});
afterEach(() => {
  if (db.open) db.close();
  dir.cleanup();
});

describe('the swipe path', () => {
  it('does not ask the library system for a closed door or a locked-out card', async () => {
    const live = liveSource();
    const g = gate(live.source);
    mode = 'closed';
    expect((await g.handle(door(), { card: CARD })).decision.reason).toBe('closed');
    expect(live.asked).toBe(0);
    mode = 'staffless';
    for (let i = 0; i < 3; i++) {
      db.prepare('INSERT INTO pin_failures (card_hash, ts) VALUES (?, ?)').run(
        hash(CARD),
        clock.now - 60_000,
      );
    }
    expect((await g.handle(door(), { card: CARD })).decision.reason).toBe('locked_out');
    expect(live.asked).toBe(0);
    db.exec('DELETE FROM pin_failures');
    expect((await g.handle(door(), { card: CARD })).decision.reason).toBe('allow');
    expect(live.asked).toBe(1);
  });

  it('does not ask the library system about a card the site decides alone: blocked, a pass, an emergency mode', async () => {
    const live = liveSource();
    const g = gate(live.source);
    const swipe = async (card: string) => (await g.handle(door(), { card })).decision.reason;
    new LocalBlocks(db, ['main']).add(
      {
        cardHash: hash('7000000001'),
        cardHint: '…',
        note: 'banned',
        doors: null,
        expiresAt: clock.now + DAY,
      },
      'test',
      clock.now,
    );
    expect(await swipe('7000000001')).toBe('blocked_locally');
    expect(live.asked).toBe(0);
    new LocalPasses(db, ['main']).add(
      {
        cardHash: hash('7000000002'),
        cardHint: '…',
        kind: 'cleaner',
        note: 'evening cleaning',
        doors: ['main'],
        hours: 'Mo-Su 00:00-24:00',
        cameraConsent: 'not_required',
        expiresAt: clock.now + DAY,
      },
      'test',
      clock.now,
    );
    expect(await swipe('7000000002')).toBe('allow_pass');
    expect(live.asked).toBe(0);
    const modes = new EmergencyModes(db);
    modes.set({ mode: 'everybody', until: clock.now + 3_600_000, reason: 'shelter' }, 'anne', clock.now);
    expect(await swipe('7000000003')).toBe('allow_emergency');
    expect(live.asked).toBe(0);
    modes.set({ mode: 'nobody', until: clock.now + 3_600_000, reason: 'water leak' }, 'anne', clock.now);
    expect(await swipe(CARD)).toBe('emergency_closed');
    expect(live.asked).toBe(0);
    // Control: the same gate asks for an ordinary card once the mode has ended.
    modes.end('anne', 'dry again', clock.now);
    expect(await swipe(CARD)).toBe('allow');
    expect(live.asked).toBe(1);
  });

  it('an empty PIN is no PIN', async () => {
    const result = await gate().handle(door({ requirePin: true }), { card: CARD, pin: '' });
    expect(result.decision.reason).toBe('pin_required');
    expect(grants).toBe(0);
  });

  it('offline allow_known: a card seen live exactly offline_known_days ago passes, a millisecond more does not', async () => {
    const live = liveSource();
    const g = gate(live.source);
    const d = door({ offlinePolicy: 'allow_known' });
    const seenAt = clock.now;
    expect((await g.handle(d, { card: CARD })).decision.reason).toBe('allow');
    live.up = false;
    clock.now = seenAt + 14 * DAY;
    const offline = await g.handle(d, { card: CARD });
    expect(offline.decision.reason).toBe('allow_offline_known');
    // The entry says the grant came from the offline rule.
    expect(entryRow(offline.entryId)).toEqual({
      outcome: 'granted',
      reason: 'allow_offline_known',
      source: 'offline',
    });
    clock.now = seenAt + 14 * DAY + 1;
    const late = await g.handle(d, { card: CARD });
    expect(late.decision.reason).toBe('ils_unavailable');
    expect(entryRow(late.entryId)).toEqual({ outcome: 'denied', reason: 'ils_unavailable', source: null });
    clock.now = seenAt;
  });

  it('remembers a card as seen live only from the library system, never from the local registry', async () => {
    await gate().handle(door({ offlinePolicy: 'allow_known' }), { card: CARD });
    expect(db.prepare('SELECT COUNT(*) FROM patron_seen').pluck().get()).toBe(0);
    await gate(liveSource().source).handle(door({ offlinePolicy: 'allow_known' }), { card: CARD });
    expect(db.prepare('SELECT COUNT(*) FROM patron_seen').pluck().get()).toBe(1);
  });

  it('marks activity on a local patron (for the inactive purge) only when the local registry knew the card', async () => {
    const activity = () =>
      db.prepare('SELECT last_activity_at FROM patrons WHERE card_hash = ?').pluck().get(hash(CARD));
    const before = activity();
    clock.now += 3_600_000;
    // Answered by the library system: the local record is not touched.
    await gate(liveSource().source).handle(door(), { card: CARD });
    expect(activity()).toBe(before);
    await gate().handle(door(), { card: CARD });
    expect(activity()).toBe(clock.now);
    // A card the local registry does not know writes no patron row.
    await gate().handle(door(), { card: '10000077' });
    expect(db.prepare('SELECT COUNT(*) FROM patrons').pluck().get()).toBe(1);
    clock.now -= 3_600_000;
  });

  it('a full disk (SQLITE_FULL) raises disk_full as well as store_error; another store error only store_error', async () => {
    const entries = new EntryStore(db, openDoorJournal(':memory:'));
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    entries.record = () => {
      throw full;
    };
    const result = await gate(local, entries).handle(door(), { card: CARD });
    expect(result.decision).toEqual({ allow: false, reason: 'store_unavailable' });
    expect(grants).toBe(0);
    expect(alarms.isActive('store_error')).toBe(true);
    expect(alarms.isActive('disk_full')).toBe(true);

    // A commit that goes through clears both.
    expect((await gate().handle(door(), { card: CARD })).decision.allow).toBe(true);
    expect(alarms.isActive('disk_full')).toBe(false);

    const broken = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    entries.record = () => {
      throw broken;
    };
    await gate(local, entries).handle(door(), { card: CARD });
    expect(alarms.isActive('store_error')).toBe(true);
    expect(alarms.isActive('disk_full')).toBe(false);
  });

  it("reports how long the entry's commit waited for the worker's lock, and nothing when it did not wait", async () => {
    expect((await gate().handle(door(), { card: CARD })).storeWaitMs).toBeUndefined();
    const entries = new EntryStore(db, openDoorJournal(':memory:'));
    Object.defineProperty(entries, 'lastWaitMs', { get: () => 2.5 });
    expect((await gate(local, entries).handle(door(), { card: CARD })).storeWaitMs).toBe(2.5);
  });

  it("reports how long the entry's commit took", async () => {
    const entries = new EntryStore(db, openDoorJournal(':memory:'));
    Object.defineProperty(entries, 'lastCommitMs', { get: () => 0.75 });
    expect((await gate(local, entries).handle(door(), { card: CARD })).commitMs).toBe(0.75);
  });

  it('marks where the time went: a slow library system in the patron stage, a slow commit in the record stage', async () => {
    const busy = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const slowLibrary: PatronSource = {
      name: 'slow',
      verifiesPin: true,
      lookup: async (card) => {
        busy(30);
        return local.lookup(card);
      },
    };
    const entries = new EntryStore(db, openDoorJournal(':memory:'));
    const record = entries.record.bind(entries);
    entries.record = (swipe) => {
      busy(20);
      return record(swipe);
    };
    const before = process.hrtime.bigint();
    const { marks } = await gate(slowLibrary, entries).handle(door(), { card: CARD });
    const after = process.hrtime.bigint();
    if (!marks) throw new Error('no marks');
    const span = (from: bigint, to: bigint) => Number(to - from) / 1e6;
    expect(span(before, marks.facts)).toBeLessThan(20);
    expect(span(marks.facts, marks.patron)).toBeGreaterThanOrEqual(30);
    expect(span(marks.patron, marks.decided)).toBeLessThan(20);
    expect(span(marks.decided, marks.recorded)).toBeGreaterThanOrEqual(20);
    expect(span(marks.recorded, after)).toBeLessThan(20);
  });

  it('a store that fails before the decision (reading PIN failures) keeps the door shut', async () => {
    const entries = new EntryStore(db, openDoorJournal(':memory:'));
    entries.pinFailuresSince = () => {
      throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    };
    const result = await gate(local, entries).handle(door(), { card: CARD });
    expect(result).toMatchObject({ decision: { allow: false, reason: 'store_unavailable' }, entryId: null });
    expect(grants).toBe(0);
    expect(alarms.isActive('store_error')).toBe(true);
  });
});
