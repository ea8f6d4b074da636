import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessPolicy } from '../../src/access/decide.ts';
import { AccessGate, type GateDoor } from '../../src/access/gate.ts';
import { Alarms } from '../../src/alarms/alarms.ts';
import { Consents } from '../../src/consent/consents.ts';
import type { DorvaktEvent, ScheduleState } from '../../src/contract/events.ts';
import type { PatronLookup, PatronSource } from '../../src/contract/patron.ts';
import { EventBus } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LocalPatronSource } from '../../src/patrons/local-registry.ts';
import { cardHasher } from '../../src/privacy/card-hash.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { journalPathFor, openDoorJournal } from '../../src/store/door-journal.ts';
import { EntryStore } from '../../src/store/entries.ts';
import { tempDir } from '../helpers/tmp.ts';
import { EmergencyModes } from '../../src/emergency/modes.ts';
import { LocalAccessLookup } from '../../src/local-access/facts.ts';

const log = createLogger('silent');
const hash = cardHasher('test-site-key-0123456789');
const policy: AccessPolicy = {
  staffedMode: 'card',
  requirePin: false,
  minAge: 15,
  categoriesAllowedAlone: [],
  categoriesDenied: [],
  offlinePolicy: 'deny',
};

describe('AccessGate with a real SQLite store', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  let journal: Db;
  let bus: EventBus;
  let events: DorvaktEvent[];
  let local: LocalPatronSource;
  let consents: Consents;
  let alarms: Alarms;
  let grants: number[];
  let mode: ScheduleState;

  const door = (over: Partial<AccessPolicy> = {}): GateDoor => ({
    id: 'main',
    policy: { ...policy, ...over },
    scheduleState: () => mode,
    grant: () => {
      // The entry must already be committed (to the door's journal or on in the store) when the relay is pulsed.
      const granted = "SELECT COUNT(*) FROM entries WHERE outcome = 'granted'";
      const committed =
        (db.prepare(granted).pluck().get() as number) + (journal.prepare(granted).pluck().get() as number);
      grants.push(committed);
    },
  });
  const gateDeps = (patrons: PatronSource = local): ConstructorParameters<typeof AccessGate>[0] => ({
    entries: new EntryStore(db, journal),
    consents,
    patrons,
    hashCard: hash,
    localAccess: new LocalAccessLookup(db, 'Europe/Oslo'),
    emergency: new EmergencyModes(db),
    alarms,
    bus,
    log,
    timezone: 'Europe/Oslo',
    language: 'en',
    pinLockout: { attempts: 3, minutes: 15 },
    offlineKnownDays: 14,
  });
  const gate = (patrons: PatronSource = local) => new AccessGate(gateDeps(patrons));

  beforeEach(() => {
    dir = tempDir();
    db = openDb(join(dir.path, 'store.sqlite'));
    journal = openDoorJournal(journalPathFor(join(dir.path, 'store.sqlite')));
    bus = new EventBus();
    events = [];
    bus.subscribe((e) => events.push(e));
    local = new LocalPatronSource(db, hash, () => '2026-11-26');
    consents = new Consents(db);
    alarms = new Alarms(db, bus, log);
    grants = [];
    mode = 'staffless';
    local.put('10000001', { category: 'V', birthYear: 1980 });
    consents.sign(hash('10000001'), 'agreement', '2024-1', Date.now(), 'test');
    consents.sign(hash('10000001'), 'camera', '2024-1', Date.now(), 'test');
  });
  afterEach(() => {
    if (journal.open) journal.close();
    if (db.open) db.close();
    dir.cleanup();
  });

  it('grants a valid patron after committing the entry, and keeps only the card hash', async () => {
    const result = await gate().handle(door(), { card: '10000001' });
    expect(result.decision).toEqual({ allow: true, reason: 'allow' });
    expect(grants).toEqual([1]);
    const row = db.prepare('SELECT * FROM entries').get() as Record<string, unknown>;
    expect(row.card_hash).toBe(hash('10000001'));
    expect(JSON.stringify(row)).not.toContain('10000001');
    const entryEvent = events.find((e) => e.type === 'entry');
    expect(entryEvent).toMatchObject({ type: 'entry', outcome: 'granted', reason: 'allow', door: 'main' });
    expect(JSON.stringify(events)).not.toContain('10000001');
    expect(JSON.stringify(events)).not.toContain(hash('10000001'));
  });

  it('hashes the card once per swipe: the local registry is handed the hash the gate made', async () => {
    let hashed = 0;
    const counting = (card: string) => {
      hashed++;
      return hash(card);
    };
    const registry = new LocalPatronSource(db, counting, () => '2026-11-26');
    const result = await new AccessGate({ ...gateDeps(registry), hashCard: counting }).handle(door(), {
      card: '10000001',
    });
    expect(result.decision).toEqual({ allow: true, reason: 'allow' });
    expect(hashed).toBe(1);
  });

  it("starts the commit's sync only once the relay has moved: its thread must not compete with the swipe", async () => {
    const order: string[] = [];
    const g = new AccessGate({
      ...gateDeps(),
      entries: new EntryStore(db, journal, { requestSync: () => order.push('sync requested') }),
    });
    const watched: GateDoor = {
      ...door(),
      grant: () => order.push('relay'),
      deny: () => order.push('denied light'),
    };
    await g.handle(watched, { card: '10000001' });
    await g.handle(watched, { card: '99999999' });
    expect(order).toEqual(['relay', 'sync requested', 'denied light', 'sync requested']);
  });

  it('a listener that throws on the entry event changes nothing: the swipe that opened reports granted', async () => {
    const failures: string[] = [];
    bus.reportErrorsTo((error) => failures.push((error as Error).message));
    bus.subscribe(() => {
      throw new Error('broken subscriber');
    });
    const after: string[] = [];
    bus.subscribe((e) => after.push(e.type));
    const result = await gate().handle(door(), { card: '10000001' });
    expect(grants).toEqual([1]);
    expect(result.decision).toEqual({ allow: true, reason: 'allow' });
    expect(db.prepare('SELECT outcome FROM entries').pluck().all()).toEqual(['granted']);
    expect(after).toContain('entry'); // later listeners still hear it
    expect(failures).toContain('broken subscriber');
    expect(bus.listenerErrors).toBeGreaterThan(0);
  });

  it('refuses the next swipe after consent is withdrawn', async () => {
    const g = gate();
    expect((await g.handle(door(), { card: '10000001' })).decision.allow).toBe(true);
    consents.withdraw(hash('10000001'), 'camera', Date.now(), 'admin', 'patron asked');
    expect((await g.handle(door(), { card: '10000001' })).decision.reason).toBe('consent_withdrawn');
    expect(grants).toHaveLength(1);
  });

  it('denies unknown cards and closed hours without a pulse, and records them', async () => {
    const g = gate();
    expect((await g.handle(door(), { card: '99999999' })).decision.reason).toBe('unknown_card');
    mode = 'closed';
    expect((await g.handle(door(), { card: '10000001' })).decision.reason).toBe('closed');
    expect(grants).toEqual([]);
    const reasons = db.prepare('SELECT reason FROM entries ORDER BY id').pluck().all();
    expect(reasons).toEqual(['unknown_card', 'closed']);
  });

  it('locks a card out after N wrong PINs within the window', async () => {
    const pinSource: PatronSource = {
      name: 'pin-checking',
      verifiesPin: true,
      lookup: async (_card, pin): Promise<PatronLookup> => ({
        status: 'ok',
        source: 'live',
        standing: {
          known: true,
          pinOk: pin === undefined ? null : pin === '1234',
          blocked: false,
          cardLost: false,
          expired: false,
          finesExceeded: false,
          birthYear: 1980,
        },
      }),
    };
    const g = gate(pinSource);
    for (let i = 0; i < 3; i++)
      expect((await g.handle(door(), { card: '10000001', pin: '0000' })).decision.reason).toBe('bad_pin');
    expect((await g.handle(door(), { card: '10000001', pin: '1234' })).decision.reason).toBe('locked_out');
    expect(db.prepare('SELECT COUNT(*) FROM pin_failures').pluck().get()).toBe(3);
    expect(grants).toEqual([]);
  });

  it('never opens when the entry cannot be committed, and raises store_error', async () => {
    const g = gate();
    // The swipe commits to the door's journal.
    journal.exec(
      "CREATE TRIGGER no_entries BEFORE INSERT ON entries BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
    );
    const result = await g.handle(door(), { card: '10000001' });
    expect(result.decision).toEqual({ allow: false, reason: 'store_unavailable' });
    expect(grants).toEqual([]);
    expect(alarms.isActive('store_error')).toBe(true);
    journal.exec('DROP TRIGGER no_entries');
    expect((await g.handle(door(), { card: '10000001' })).decision.allow).toBe(true);
    expect(alarms.isActive('store_error')).toBe(false);
  });

  it('offline policy allow_known admits a card seen live recently, and only that card', async () => {
    let up = true;
    const flaky: PatronSource = {
      name: 'flaky',
      verifiesPin: true,
      lookup: async (card): Promise<PatronLookup> =>
        up
          ? local.lookup(card).then((r) => (r.status === 'ok' ? { ...r, source: 'live' } : r))
          : { status: 'unavailable', error: 'down' },
    };
    const g = gate(flaky);
    const d = door({ offlinePolicy: 'allow_known' });
    local.put('10000009', { category: 'V', birthYear: 1980 });
    consents.sign(hash('10000009'), 'agreement', '1', Date.now(), 't');
    consents.sign(hash('10000009'), 'camera', '1', Date.now(), 't');
    expect((await g.handle(d, { card: '10000001' })).decision.reason).toBe('allow');
    up = false;
    expect((await g.handle(d, { card: '10000001' })).decision.reason).toBe('allow_offline_known');
    expect((await g.handle(d, { card: '10000009' })).decision.reason).toBe('ils_unavailable');
    // With policy deny nothing is remembered at all.
    up = true;
    await g.handle(door(), { card: '10000009' });
    expect(
      db.prepare('SELECT COUNT(*) FROM patron_seen WHERE card_hash = ?').pluck().get(hash('10000009')),
    ).toBe(0);
  });
});
